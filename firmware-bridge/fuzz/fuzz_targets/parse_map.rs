//! Fuzz target: the register-map parser and the read planner never panic on any input.
#![no_main]

use firmware_bridge::map::parse_map;
use firmware_bridge::plan::{plan_reads, PlanOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(map) = parse_map(text) {
        let plan = plan_reads(&map.points, PlanOptions::default());
        assert!(map.points.iter().all(|p| firmware_bridge::plan::locate(&plan, p).is_some()));
    }
});
