//! `import impact`: per account, incident and category, what the incident did to its data.

use std::collections::{HashMap, HashSet};

use super::{Chunks, Problems, Records, account_key, parse_bool, too_long};
use crate::domain::{self, Category, DeviceState};
use crate::error::Result;
use crate::store::NewImpact;

/// Longest incident id, in characters.
const MAX_INCIDENT_CHARS: usize = 64;

/// `import impact`: account_no, incident, category, server_lost, device_state, items_before.
pub fn parse_impact(source: &str, data: &[u8]) -> Result<Vec<NewImpact>> {
    let mut out = Vec::new();
    parse_impact_chunks(source, data, usize::MAX, &mut |rows| {
        out.extend(rows);
        true
    })?;
    Ok(out)
}

/// `parse_impact` handing the rows on in chunks, as `parse_accounts_chunks` does.
pub fn parse_impact_chunks(
    source: &str,
    data: &[u8],
    chunk: usize,
    emit: &mut dyn FnMut(Vec<NewImpact>) -> bool,
) -> Result<()> {
    let (h, mut rows) = Records::open(source, data)?;
    h.require(
        source,
        &[
            "account_no",
            "incident",
            "category",
            "server_lost",
            "device_state",
            "items_before",
        ],
    )?;
    let mut problems = Problems::new(source);
    // (account, incident, category) seen so far, in a compact form: millions of rows.
    let mut seen: HashSet<(u64, u32, Category)> = HashSet::new();
    let mut incidents: HashMap<String, u32> = HashMap::new();
    let mut out = Chunks::new(chunk, emit);
    while let Some((line, rec)) = rows.next()? {
        if !out.wanted() {
            return Ok(());
        }
        let account_no = h.get(rec, "account_no");
        if let Some(problem) = h.scientific("account_no", account_no) {
            problems.add(line, problem);
            continue;
        }
        if !domain::is_account_no(account_no) {
            problems.add(
                line,
                format!(
                    "account_no \"{}\" is not 6 to 12 digits",
                    domain::sanitize(account_no)
                ),
            );
            continue;
        }
        let incident = h.get(rec, "incident");
        if incident.is_empty() {
            problems.add(line, "the incident is empty");
            continue;
        }
        if let Some(problem) = too_long("incident", incident, MAX_INCIDENT_CHARS) {
            problems.add(line, problem);
            continue;
        }
        let category = match h.get(rec, "category").parse::<Category>() {
            Ok(c) => c,
            Err(e) => {
                problems.add(line, e);
                continue;
            }
        };
        let Some(server_lost) = parse_bool(h.get(rec, "server_lost")) else {
            problems.add(
                line,
                format!(
                    "server_lost \"{}\" is not true or false",
                    domain::sanitize(h.get(rec, "server_lost"))
                ),
            );
            continue;
        };
        let device_state = match h.get(rec, "device_state").parse::<DeviceState>() {
            Ok(d) => d,
            Err(e) => {
                problems.add(line, e);
                continue;
            }
        };
        let items_before = match h.get(rec, "items_before").parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => {
                problems.add(
                    line,
                    format!(
                        "items_before \"{}\" is not a count",
                        domain::sanitize(h.get(rec, "items_before"))
                    ),
                );
                continue;
            }
        };
        let n = incidents.len() as u32;
        let incident_key = match incidents.get(incident) {
            Some(k) => *k,
            None => *incidents.entry(incident.to_string()).or_insert(n),
        };
        if !seen.insert((account_key(account_no), incident_key, category)) {
            problems.add(
                line,
                format!(
                    "account {account_no}, {}, {category} appears twice",
                    domain::sanitize(incident)
                ),
            );
            continue;
        }
        out.push(
            NewImpact {
                line,
                account_no: account_no.to_string(),
                incident: incident.to_string(),
                category,
                server_lost,
                device_state,
                items_before,
            },
            &problems,
        );
    }
    out.finish(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_rows_are_checked_and_duplicates_refused() {
        let data = "account_no,incident,category,server_lost,device_state,items_before\n\
                    310000001,danger-2009-10,contacts,yes,wiped,300\n\
                    310000001,danger-2009-10,Contacts,true,wiped,300\n\
                    310000001,danger-2009-10,music,true,wiped,3\n";
        let err = parse_impact("i.csv", data.as_bytes()).expect_err("bad rows");
        let msg = err.to_string();
        assert!(
            msg.contains("line 3") && msg.contains("appears twice"),
            "{msg}"
        );
        assert!(msg.contains("line 4"), "{msg}");
    }
}
