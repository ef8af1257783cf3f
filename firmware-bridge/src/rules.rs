//! Alarm rules and door-station events: point values in, episodes out (pure, no clock reads).
//!
//! A rule's condition is `<point> <op> <literal>` with `op` one of `== != < > <= >=` and the
//! literal `true`, `false` or a number; booleans compare as 1 and 0. An optional `while` point
//! must also be true. An episode is raised once the condition has held continuously for
//! `on_delay_s`, and cleared once it has been false continuously for `off_delay_s`.
//! A missing value (point not read, controller silent) never raises and never clears.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::map::{is_identifier, DoorStation};
use crate::value::Value;

/// The latest known value of each point of one controller.
pub type Snapshot = HashMap<String, Value>;

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
        }
    }
}

/// Right-hand side of a condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Literal {
    /// `true` / `false`
    Bool(bool),
    /// A finite number.
    Number(f64),
}

/// A parsed `<point> <op> <literal>` condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Point name.
    pub point: String,
    /// Operator.
    pub op: Op,
    /// Literal.
    pub literal: Literal,
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.literal {
            Literal::Bool(b) => write!(f, "{} {} {b}", self.point, self.op.symbol()),
            Literal::Number(n) => write!(f, "{} {} {n}", self.point, self.op.symbol()),
        }
    }
}

impl Condition {
    /// Evaluates against a snapshot; `None` when the point has no value.
    pub fn eval(&self, snapshot: &Snapshot) -> Option<bool> {
        let v = snapshot.get(&self.point)?.as_f64();
        let l = match self.literal {
            Literal::Bool(b) => f64::from(u8::from(b)),
            Literal::Number(n) => n,
        };
        Some(match self.op {
            Op::Eq => v == l,
            Op::Ne => v != l,
            Op::Lt => v < l,
            Op::Gt => v > l,
            Op::Le => v <= l,
            Op::Ge => v >= l,
        })
    }
}

/// Why a condition did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("condition `{text}`: {message}")]
pub struct ConditionError {
    /// The condition as written.
    pub text: String,
    /// What is wrong.
    pub message: String,
}

/// Parses `<point> <op> <literal>`.
pub fn parse_condition(text: &str) -> Result<Condition, ConditionError> {
    let err = |message: &str| ConditionError { text: text.to_string(), message: message.to_string() };
    let s = text.trim_start();
    let name_len = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    let point = &s[..name_len];
    if !is_identifier(point) {
        return Err(err("expected a point name first"));
    }
    let s = s[name_len..].trim_start();
    let ops = [("==", Op::Eq), ("!=", Op::Ne), ("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)];
    let (sym, op) =
        ops.into_iter().find(|(sym, _)| s.starts_with(sym)).ok_or_else(|| err("expected == != < > <= or >="))?;
    let lit = s[sym.len()..].trim();
    let literal = match lit {
        "true" => Literal::Bool(true),
        "false" => Literal::Bool(false),
        "" => return Err(err("expected true, false or a number after the operator")),
        _ => match lit.parse::<f64>() {
            Ok(n) if n.is_finite() && lit.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) => {
                Literal::Number(n)
            }
            _ => return Err(err("expected true, false or a number after the operator")),
        },
    };
    Ok(Condition { point: point.to_string(), op, literal })
}

/// What happens to the ticket when the episode ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnClear {
    /// Resolve the ticket.
    #[default]
    Resolve,
    /// Leave the ticket open and add a note.
    Annotate,
}

/// A rule as written in `[[grms.rules]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique rule name.
    pub name: String,
    /// Condition, e.g. `room_temp > 28`.
    pub when: String,
    /// Optional bool point that must also be true (e.g. `occupancy`).
    #[serde(default, rename = "while", alias = "while_point")]
    pub while_point: Option<String>,
    /// Seconds the condition must hold before raising.
    #[serde(default)]
    pub on_delay_s: u64,
    /// Seconds the condition must be false before clearing.
    #[serde(default)]
    pub off_delay_s: u64,
    /// Catalog item of the ticket, e.g. `grms.sos`.
    pub item: String,
    /// Ticket handling when the episode clears.
    #[serde(default)]
    pub on_clear: OnClear,
}

/// A compiled rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Rule name.
    pub name: String,
    /// Parsed condition.
    pub when: Condition,
    /// Optional gating point.
    pub while_point: Option<String>,
    /// Debounce before raising.
    pub on_delay: Duration,
    /// Debounce before clearing.
    pub off_delay: Duration,
    /// Catalog item.
    pub item: String,
    /// Ticket handling on clear.
    pub on_clear: OnClear,
}

impl Rule {
    /// Compiles a configured rule.
    pub fn compile(config: &RuleConfig) -> Result<Rule, ConditionError> {
        Ok(Rule {
            name: config.name.clone(),
            when: parse_condition(&config.when)?,
            while_point: config.while_point.clone(),
            on_delay: Duration::from_secs(config.on_delay_s),
            off_delay: Duration::from_secs(config.off_delay_s),
            item: config.item.clone(),
            on_clear: config.on_clear,
        })
    }

    /// Points the rule reads.
    pub fn points(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.when.point.as_str()).chain(self.while_point.as_deref())
    }

    fn eval(&self, snapshot: &Snapshot) -> Option<bool> {
        let when = self.when.eval(snapshot)?;
        match &self.while_point {
            Some(p) => Some(when && snapshot.get(p)?.is_truthy()),
            None => Some(when),
        }
    }
}

/// Something the state machine decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A rule's episode began.
    AlarmRaised {
        /// Rule name.
        rule: String,
        /// Catalog item.
        item: String,
        /// Human-readable values, e.g. `room_temp = 29.5 (room_temp > 28)`.
        detail: String,
    },
    /// A rule's episode ended.
    AlarmCleared {
        /// Rule name.
        rule: String,
        /// Catalog item.
        item: String,
        /// Ticket handling.
        on_clear: OnClear,
    },
    /// The make-up-room button was pressed.
    MakeUpRoom,
    /// Do-not-disturb changed.
    DoNotDisturb(bool),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Idle,
    Pending(Instant),
    Active,
    Clearing(Instant),
}

/// Episode tracking for one controller.
#[derive(Debug, Clone)]
pub struct Episodes {
    rules: Vec<(Rule, State)>,
    door: Option<DoorStation>,
    mur: Option<bool>,
    dnd: Option<bool>,
}

impl Episodes {
    /// Tracks `rules` and, when given, the door station.
    pub fn new(rules: Vec<Rule>, door: Option<DoorStation>) -> Self {
        Episodes { rules: rules.into_iter().map(|r| (r, State::Idle)).collect(), door, mur: None, dnd: None }
    }

    /// Names of rules whose episode is currently raised.
    pub fn active(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().filter(|(_, s)| matches!(s, State::Active | State::Clearing(_))).map(|(r, _)| r.name.as_str())
    }

    /// Feeds the latest snapshot taken at `now`; returns what changed.
    ///
    /// Door station: `MakeUpRoom` on every change into the make-up-room value (including the first
    /// reading, so a press during a restart is not lost); `DoNotDisturb(on)` whenever the flag
    /// changes, and on the first reading only when it is on.
    pub fn step(&mut self, now: Instant, snapshot: &Snapshot) -> Vec<Outcome> {
        let mut out = Vec::new();
        for (rule, state) in &mut self.rules {
            let cond = rule.eval(snapshot);
            let (next, raise, clear) = match (*state, cond) {
                (State::Idle, Some(true)) if rule.on_delay.is_zero() => (State::Active, true, false),
                (State::Idle, Some(true)) => (State::Pending(now), false, false),
                (State::Idle, _) => (State::Idle, false, false),
                (State::Pending(since), Some(true)) if now.saturating_duration_since(since) >= rule.on_delay => {
                    (State::Active, true, false)
                }
                (State::Pending(since), Some(true)) => (State::Pending(since), false, false),
                (State::Pending(_), _) => (State::Idle, false, false),
                (State::Active, Some(false)) if rule.off_delay.is_zero() => (State::Idle, false, true),
                (State::Active, Some(false)) => (State::Clearing(now), false, false),
                (State::Active, _) => (State::Active, false, false),
                (State::Clearing(_), Some(true)) => (State::Active, false, false),
                (State::Clearing(since), Some(false)) if now.saturating_duration_since(since) >= rule.off_delay => {
                    (State::Idle, false, true)
                }
                (State::Clearing(since), _) => (State::Clearing(since), false, false),
            };
            *state = next;
            if raise {
                let mut detail =
                    format!("{} = {} ({})", rule.when.point, fmt_value(snapshot, &rule.when.point), rule.when);
                if let Some(w) = &rule.while_point {
                    detail.push_str(&format!(" while {w} = {}", fmt_value(snapshot, w)));
                }
                out.push(Outcome::AlarmRaised { rule: rule.name.clone(), item: rule.item.clone(), detail });
            }
            if clear {
                out.push(Outcome::AlarmCleared {
                    rule: rule.name.clone(),
                    item: rule.item.clone(),
                    on_clear: rule.on_clear,
                });
            }
        }
        if let Some(door) = &self.door {
            if let Some(mur) = flag(snapshot, &door.mur_point, door.mur_value) {
                if mur && self.mur != Some(true) {
                    out.push(Outcome::MakeUpRoom);
                }
                self.mur = Some(mur);
            }
            if let Some(dnd) = flag(snapshot, &door.dnd_point, door.dnd_value) {
                if self.dnd.map_or(dnd, |old| old != dnd) {
                    out.push(Outcome::DoNotDisturb(dnd));
                }
                self.dnd = Some(dnd);
            }
        }
        out
    }
}

fn fmt_value(snapshot: &Snapshot, point: &str) -> String {
    snapshot.get(point).map_or_else(|| "?".to_string(), ToString::to_string)
}

fn flag(snapshot: &Snapshot, point: &Option<String>, value: Option<f64>) -> Option<bool> {
    let v = snapshot.get(point.as_deref()?)?;
    Some(match value {
        Some(want) => v.as_f64() == want,
        None => v.is_truthy(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    fn rule(when: &str, while_point: Option<&str>, on: u64, off: u64) -> Rule {
        Rule::compile(&RuleConfig {
            name: "r".into(),
            when: when.into(),
            while_point: while_point.map(Into::into),
            on_delay_s: on,
            off_delay_s: off,
            item: "grms.x".into(),
            on_clear: OnClear::Resolve,
        })
        .unwrap()
    }

    fn snap(pairs: &[(&str, Value)]) -> Snapshot {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn kinds(out: &[Outcome]) -> Vec<&'static str> {
        out.iter()
            .map(|o| match o {
                Outcome::AlarmRaised { .. } => "raised",
                Outcome::AlarmCleared { .. } => "cleared",
                Outcome::MakeUpRoom => "mur",
                Outcome::DoNotDisturb(true) => "dnd on",
                Outcome::DoNotDisturb(false) => "dnd off",
            })
            .collect()
    }

    #[test]
    fn parses_conditions() {
        let cases = [
            ("sos == true", "sos == true"),
            ("  hvac_fault!=0", "hvac_fault != 0"),
            ("room_temp > 28", "room_temp > 28"),
            ("t<=-1.5", "t <= -1.5"),
            ("t >= 1e2", "t >= 100"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_condition(input).unwrap().to_string(), want);
        }
        for bad in ["", "== 1", "t", "t =< 1", "t > ", "t > inf", "t > NaN", "t > 1 2", "9t > 1", "t > yes"] {
            assert!(parse_condition(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn on_and_off_delay() {
        let t0 = Instant::now();
        let s = |x: u64| t0 + Duration::from_secs(x);
        let mut e = Episodes::new(vec![rule("room_temp > 28", Some("occupancy"), 60, 30)], None);
        let hot = snap(&[("room_temp", Value::Number(29.0)), ("occupancy", Value::Bool(true))]);
        let cool = snap(&[("room_temp", Value::Number(27.0)), ("occupancy", Value::Bool(true))]);
        let vacant = snap(&[("room_temp", Value::Number(29.0)), ("occupancy", Value::Bool(false))]);
        assert!(e.step(s(0), &hot).is_empty());
        assert!(e.step(s(30), &cool).is_empty()); // interrupted: restart the on-delay
        assert!(e.step(s(40), &hot).is_empty());
        assert!(e.step(s(99), &hot).is_empty());
        let out = e.step(s(100), &hot);
        assert_eq!(kinds(&out), ["raised"]);
        let Outcome::AlarmRaised { detail, .. } = &out[0] else { panic!() };
        assert_eq!(detail, "room_temp = 29 (room_temp > 28) while occupancy = true");
        assert!(e.step(s(101), &hot).is_empty());
        assert!(e.step(s(110), &vacant).is_empty());
        assert!(e.step(s(120), &Snapshot::new()).is_empty()); // unknown: hold
        assert_eq!(kinds(&e.step(s(140), &vacant)), ["cleared"]);
        assert!(e.step(s(141), &vacant).is_empty());
    }

    #[test]
    fn immediate_rule_and_missing_values() {
        let t0 = Instant::now();
        let mut e = Episodes::new(vec![rule("sos == true", None, 0, 0)], None);
        assert!(e.step(t0, &Snapshot::new()).is_empty());
        assert_eq!(kinds(&e.step(t0, &snap(&[("sos", Value::Bool(true))]))), ["raised"]);
        assert_eq!(e.active().collect::<Vec<_>>(), ["r"]);
        assert!(e.step(t0, &Snapshot::new()).is_empty());
        assert_eq!(kinds(&e.step(t0, &snap(&[("sos", Value::Number(0.0))]))), ["cleared"]);
    }

    #[test]
    fn door_station_edges() {
        let door = DoorStation {
            mur_point: Some("door".into()),
            mur_value: Some(1.0),
            dnd_point: Some("door".into()),
            dnd_value: Some(2.0),
        };
        let t0 = Instant::now();
        let mut e = Episodes::new(vec![], Some(door));
        let d = |v: f64| snap(&[("door", Value::Number(v))]);
        let seq = [0.0, 1.0, 1.0, 0.0, 1.0, 2.0, 2.0, 0.0];
        let got: Vec<_> = seq.iter().flat_map(|v| kinds(&e.step(t0, &d(*v)))).collect();
        assert_eq!(got, ["mur", "mur", "dnd on", "dnd off"]);
        assert!(e.step(t0, &Snapshot::new()).is_empty());
        assert!(e.step(t0, &d(0.0)).is_empty());
    }

    proptest! {
        #[test]
        fn raises_and_clears_alternate(on in 0u64..5, off in 0u64..5,
                                       steps in vec((0u64..4, proptest::option::of(-2i8..3)), 0..60)) {
            let t0 = Instant::now();
            let mut e = Episodes::new(vec![rule("x > 0", None, on, off)], None);
            let mut t = 0;
            let mut raised = false;
            for (dt, v) in steps {
                t += dt;
                let s = v.map(|v| snap(&[("x", Value::Number(f64::from(v)))])).unwrap_or_default();
                for o in e.step(t0 + Duration::from_secs(t), &s) {
                    match o {
                        Outcome::AlarmRaised { .. } => { prop_assert!(!raised, "two raises"); raised = true; }
                        Outcome::AlarmCleared { .. } => { prop_assert!(raised, "clear without raise"); raised = false; }
                        _ => {}
                    }
                    prop_assert!(v.is_some(), "missing value changed an episode");
                }
            }
        }
    }
}
