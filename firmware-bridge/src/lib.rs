//! Bellhop's bridge to room controllers (GRMS) over Modbus TCP and RTU.
//!
//! The pure cores come first and do no I/O: [`map`] (register maps), [`value`] (decoding and
//! encoding), [`plan`] (merging reads) and [`rules`] (alarm episodes and door-station events,
//! with time passed in). [`config`] is the `[grms]` section of the daemon configuration.
//! [`link`] and [`poller`] are the thin tokio shell: they move bytes, keep time, and report
//! [`BridgeEvent`]s on a channel. The crate never touches a database.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod link;
pub mod map;
pub mod plan;
pub mod poller;
pub mod rules;
pub mod value;

pub use config::{compile_rules, load_maps, validate, ControllerConfig, Endpoint, GrmsConfig, Maps};
pub use link::{read_points, write_point, BridgeError};
pub use map::{parse_map, MapError, Point, RegisterMap};
pub use poller::{Bridge, BridgeEvent, BridgeHandle};
pub use rules::{parse_condition, Episodes, OnClear, Outcome, Rule, RuleConfig, Snapshot};
pub use value::{decode, encode, Value};

#[cfg(test)]
mod example_map {
    /// The SMT-131 example shipped in `docs/examples` must stay valid.
    #[test]
    fn smt_131_example_validates() {
        let map = crate::parse_map(include_str!("../../docs/examples/smt-131.toml")).unwrap();
        assert_eq!(map.model, "SMT-131");
        let setpoint = map.point("setpoint").unwrap();
        assert_eq!((setpoint.address, setpoint.scale, setpoint.writable), (8, 0.1, true));
        assert_eq!(map.point("sos").unwrap().address, 11);
        assert!(map.door_station.is_some());
        let plan = crate::plan::plan_reads(&map.points, Default::default());
        assert_eq!(plan.len(), 1, "{plan:?}");
    }
}
