//! `RunSpec`: everything that defines a run, as plain data.
//!
//! Usually derived from a seed and a preset; after shrinking, an edited spec that no seed
//! gives, saved as JSON and replayed with `faultline replay SYSTEM --spec FILE`.

use crate::layout::{Layout, LayoutOf};
use crate::options::{Preset, SimOptions};
use crate::schedule::Schedule;
use crate::system::SystemConfig;
use serde::{Deserialize, Serialize};

/// Everything that defines a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// The seed: the node RNGs, the network's draws and the workload come from it.
    pub seed: u64,
    /// The run's options.
    pub options: SimOptions,
    /// The nemesis's fault schedule (drawn from the seed, or edited by shrinking or by hand).
    pub schedule: Schedule,
    /// The planted bug to enable, by name; `None` runs the correct system.
    pub bug: Option<String>,
}

impl RunSpec {
    /// The run `seed` gives under `preset`: options (drawn from the seed for swarm) and the
    /// fault schedule drawn from both, for the nodes the system lays out (`layout`, usually
    /// `S::layout` of the system `S`).
    pub fn from_preset(seed: u64, preset: Preset, bug: Option<String>, layout: LayoutOf) -> Self {
        let options = preset.options(seed);
        let config = SystemConfig {
            nodes: options.nodes,
            clients: options.clients,
            bug: bug.clone(),
            workload: options.workload.clone(),
        };
        let schedule = Schedule::plan(seed, &options, &layout(&config));
        RunSpec { seed, options, schedule, bug }
    }

    /// The system configuration this run asks for.
    pub fn config(&self) -> SystemConfig {
        SystemConfig {
            nodes: self.options.nodes,
            clients: self.options.clients,
            bug: self.bug.clone(),
            workload: self.options.workload.clone(),
        }
    }

    /// The layout of this run's nodes, checked.
    pub fn layout(&self, layout: LayoutOf) -> Result<Layout, String> {
        let layout = layout(&self.config());
        layout.validate().map_err(|e| format!("invalid layout ({layout}): {e}"))?;
        Ok(layout)
    }

    /// Checks the options, the layout, and that the schedule fits them.
    pub fn validate(&self, layout: LayoutOf) -> Result<(), String> {
        self.options.validate()?;
        self.schedule.validate(&self.layout(layout)?, self.options.safety_ms)
    }

    /// The spec as pretty JSON, the form `faultline replay --spec` reads.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("specs serialize")
    }

    /// Parses and validates a spec for a system laid out by `layout`; the error says what is
    /// wrong.
    pub fn from_json(text: &str, layout: LayoutOf) -> Result<Self, String> {
        let spec: RunSpec = serde_json::from_str(text).map_err(|e| format!("not a run spec: {e}"))?;
        spec.validate(layout)?;
        Ok(spec)
    }
}
