//! `RunSpec`: everything that defines a run, as plain data.
//!
//! Usually derived from a seed and a preset; after shrinking, an edited spec that no seed
//! gives, saved as JSON and replayed with `faultline replay SYSTEM --spec FILE`.

use crate::options::{Preset, SimOptions};
use crate::schedule::Schedule;
use serde::{Deserialize, Serialize};

/// Everything that defines a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    pub seed: u64,
    pub options: SimOptions,
    pub schedule: Schedule,
    pub bug: Option<String>,
}

impl RunSpec {
    /// The run `seed` gives under `preset`: options (drawn from the seed for swarm) and the
    /// fault schedule drawn from both.
    pub fn from_preset(seed: u64, preset: Preset, bug: Option<String>) -> Self {
        let options = preset.options(seed);
        let schedule = Schedule::plan(seed, &options);
        RunSpec { seed, options, schedule, bug }
    }

    /// Checks the options and that the schedule fits them.
    pub fn validate(&self) -> Result<(), String> {
        self.options.validate()?;
        self.schedule.validate(self.options.nodes, self.options.safety_ms)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("specs serialize")
    }

    /// Parses and validates a spec; the error says what is wrong.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let spec: RunSpec = serde_json::from_str(text).map_err(|e| format!("not a run spec: {e}"))?;
        spec.validate()?;
        Ok(spec)
    }
}
