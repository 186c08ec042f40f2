//! The dashboard screen: the incident's figures, loaded in the counts lane.

use super::{App, Effect};
use crate::domain::BatchRun;
use crate::store::IncidentTotals;

impl App {
    pub(super) fn load_dashboard(&mut self) -> Vec<Effect> {
        self.loading_dashboard = true;
        vec![Effect::LoadDashboard, Effect::LoadRuns]
    }

    pub(super) fn on_runs_loaded(&mut self, r: Result<Vec<BatchRun>, String>) -> Vec<Effect> {
        if let Ok(runs) = r {
            self.runs = runs;
        }
        Vec::new()
    }

    pub(super) fn on_dashboard_loaded(&mut self, r: Result<IncidentTotals, String>) -> Vec<Effect> {
        self.loading_dashboard = false;
        match r {
            Ok(t) => self.totals = Some(t),
            Err(e) => self.error(e),
        }
        self.counts_answered()
    }
}
