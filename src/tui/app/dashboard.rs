//! The dashboard screen: the incident's figures, loaded in the counts lane.

use super::{App, Effect};
use crate::store::IncidentTotals;

impl App {
    pub(super) fn load_dashboard(&mut self) -> Vec<Effect> {
        self.loading_dashboard = true;
        vec![Effect::LoadDashboard]
    }

    pub(super) fn on_dashboard_loaded(&mut self, r: Result<IncidentTotals, String>) -> Vec<Effect> {
        self.loading_dashboard = false;
        match r {
            Ok(t) => self.totals = Some(t),
            Err(e) => self.error(e),
        }
        Vec::new()
    }
}
