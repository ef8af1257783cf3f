//! The SLA clock of one ticket: targets, pauses, flags and escalation levels on business time. Pure.
//!
//! The clock counts a *position*: business milliseconds consumed on the department's [`Hours`] since the round
//! started, pauses excluded. Flag changes, breaches and escalation levels are all points on that one axis, and
//! [`step`] produces each of them once, in position order, as soon as it is called at or after the instant the
//! position reaches it. Nothing here reads the clock: `now` is passed in, and [`next_due`] tells the caller when
//! to call again.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

pub use crate::vocab::sla::{Flag, Reason, Target};

/// The share of a target, in percent, after which its flag turns yellow, when a policy does not say.
pub const DEFAULT_YELLOW_PCT: u8 = 75;

/// Opening hours: how much business time lies between two instants.
pub trait Hours {
    /// Milliseconds of [from, to) inside opening hours; 0 when to <= from.
    fn open_ms(&self, from: Timestamp, to: Timestamp) -> i64;
    /// The earliest t >= from with open_ms(from, t) == ms (ms <= 0 gives from).
    fn add_ms(&self, from: Timestamp, ms: i64) -> Timestamp;
}

/// Hours that never close: business time is wall-clock time.
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysOpen;

impl Hours for AlwaysOpen {
    fn open_ms(&self, from: Timestamp, to: Timestamp) -> i64 {
        wall_ms(from, to)
    }

    fn add_ms(&self, from: Timestamp, ms: i64) -> Timestamp {
        shift(from, ms.max(0))
    }
}

/// The targets and escalation levels that apply to a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Business milliseconds from the start of a round to the response target (acknowledgement).
    pub response_ms: i64,
    /// Business milliseconds from the start of a round to the resolution target.
    pub resolution_ms: i64,
    /// The share of a target, in percent, after which its flag turns yellow.
    #[serde(default = "default_yellow_pct")]
    pub yellow_pct: u8,
    /// Escalation levels, handled strictly in this order. The caller validates that their positions
    /// ([`Policy::level_ms`]) do not decrease.
    #[serde(default)]
    pub levels: Vec<LevelSpec>,
}

/// One escalation level of a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelSpec {
    /// The point the delay counts from.
    pub anchor: Anchor,
    /// Business milliseconds after the anchor; negative for "before the deadline".
    pub delay_ms: i64,
    /// The level is skipped silently when this has happened before it is handled.
    pub until: Until,
}

/// Where an escalation level's delay counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The start of the round (position 0).
    Created,
    /// The response target.
    Response,
    /// The resolution target.
    Resolution,
}

/// The event after which an escalation level is no longer wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Until {
    /// The ticket was acknowledged in this round.
    Acknowledged,
    /// The ticket was resolved or cancelled.
    Resolved,
}

/// A reason for the clock to stand still. The clock runs only while none is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pause {
    /// The ticket is on hold, waiting on the guest or on parts. Cleared by a reopen.
    Hold,
    /// The room asked not to be disturbed. Survives a reopen.
    DoNotDisturb,
}

/// Which targets have been breached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breaches {
    /// The response target was reached before the acknowledgement.
    pub response: bool,
    /// The resolution target was reached before the resolution.
    pub resolution: bool,
}

/// The stored state of one ticket's clock. The daemon keeps it as JSON next to the ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// 0 before [`Input::Start`], 1 for the first round, one more for each [`Input::Reopen`].
    pub round: u32,
    /// When the current round started.
    #[serde(with = "instant")]
    pub round_start: Timestamp,
    /// Business milliseconds of this round consumed before `running_since`.
    pub consumed_ms: i64,
    /// Since when the clock runs; `None` while paused, stopped or not started.
    #[serde(with = "instant::option")]
    pub running_since: Option<Timestamp>,
    /// The pauses in force. They are tracked even while the clock is stopped, so a reopen knows them.
    pub pauses: BTreeSet<Pause>,
    /// Since when the clock is paused; `None` while running, stopped or not started.
    #[serde(with = "instant::option")]
    pub paused_since: Option<Timestamp>,
    /// Wall-clock milliseconds spent paused over all rounds, the current pause not included.
    pub paused_ms: i64,
    /// The position at which this round was acknowledged.
    pub acknowledged_ms: Option<i64>,
    /// Resolved or cancelled: the clock stands still until a reopen.
    pub stopped: bool,
    /// The index of the first level of this round not yet fired or skipped.
    pub next_level: usize,
    /// The flag as last reported. A stopped clock keeps the flag it stopped with.
    pub flag: Flag,
    /// The targets breached in this round.
    pub breached: Breaches,
    /// The targets breached in earlier rounds.
    pub breached_before: Breaches,
    /// The position of the first acknowledgement, in whichever round it happened.
    pub first_response_ms: Option<i64>,
    /// The position of the first resolution, in whichever round it happened.
    pub first_resolution_ms: Option<i64>,
}

/// Something that happens to a ticket's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Start the first round. Ignored once started.
    Start {
        /// Fire every level at once.
        emergency: bool,
        /// Start paused for do-not-disturb.
        paused: bool,
    },
    /// A pause begins. Nothing changes when it is already active.
    Pause(Pause),
    /// A pause ends. Nothing changes when it is not active.
    Resume(Pause),
    /// The ticket was acknowledged: the response target is met (before its position) or breached (at or after
    /// it) for good. Ignored when this round is already acknowledged.
    Acknowledge,
    /// The ticket was resolved: the clock stops.
    Resolve,
    /// The ticket was cancelled: the clock stops.
    Cancel,
    /// A stopped ticket was reopened: a new round from now.
    Reopen,
    /// The policy or the hours changed: recompute flags and clear breaches that no longer hold.
    Retarget,
    /// Nothing but the passing of time.
    Tick,
    /// Fire the next level now, by hand. Nothing when no level is left; a level whose `until` has happened is
    /// passed over, as it would be when due.
    Escalate,
    /// The system clock stepped by `delta_ms` (NTP); `now` is already on the new clock.
    Step {
        /// How far the clock jumped; negative for backwards.
        delta_ms: i64,
    },
}

/// Something the daemon has to act on.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// The flag changed.
    Flag {
        /// The new flag.
        flag: Flag,
        /// When it changed.
        #[serde(with = "instant")]
        due_at: Timestamp,
    },
    /// A target was reached before it was met.
    Breached {
        /// The target.
        target: Target,
        /// When it was reached.
        #[serde(with = "instant")]
        due_at: Timestamp,
    },
    /// After a [`Input::Retarget`], a breach of this round no longer holds.
    BreachCleared {
        /// The target.
        target: Target,
    },
    /// Escalate to a level.
    Level {
        /// The level's index in [`Policy::levels`].
        index: usize,
        /// Why it fired.
        reason: Reason,
        /// When it was due.
        #[serde(with = "instant")]
        due_at: Timestamp,
    },
}

/// The figures a ticket's SLA report needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Measures {
    /// Business milliseconds to the first acknowledgement.
    pub response_ms: Option<i64>,
    /// Business milliseconds to the first resolution.
    pub resolution_ms: Option<i64>,
    /// Wall-clock milliseconds paused, over all rounds; a pause still in force is not counted yet.
    pub paused_ms: i64,
    /// The response target was breached in some round.
    pub response_breached: bool,
    /// The resolution target was breached in some round.
    pub resolution_breached: bool,
}

impl Policy {
    /// A policy with the default yellow share and no levels.
    pub fn new(response_ms: i64, resolution_ms: i64) -> Self {
        Policy { response_ms, resolution_ms, yellow_pct: DEFAULT_YELLOW_PCT, levels: Vec::new() }
    }

    /// The position at which `level` is due: its anchor plus its delay, never below 0.
    pub fn level_ms(&self, level: &LevelSpec) -> i64 {
        let base = match level.anchor {
            Anchor::Created => 0,
            Anchor::Response => self.response_ms,
            Anchor::Resolution => self.resolution_ms,
        };
        base.saturating_add(level.delay_ms).max(0)
    }

    fn target_ms(&self, target: Target) -> i64 {
        match target {
            Target::Response => self.response_ms,
            Target::Resolution => self.resolution_ms,
        }
    }

    fn yellow_ms(&self, target_ms: i64) -> i64 {
        (i128::from(target_ms) * i128::from(self.yellow_pct) / 100) as i64
    }
}

impl State {
    /// A clock that has not started; [`Input::Start`] starts it. Every other input is ignored until then.
    pub fn new(now: Timestamp) -> Self {
        State {
            round: 0,
            round_start: now,
            consumed_ms: 0,
            running_since: None,
            pauses: BTreeSet::new(),
            paused_since: None,
            paused_ms: 0,
            acknowledged_ms: None,
            stopped: false,
            next_level: 0,
            flag: Flag::Green,
            breached: Breaches::default(),
            breached_before: Breaches::default(),
            first_response_ms: None,
            first_resolution_ms: None,
        }
    }

    fn live(&self) -> bool {
        self.round > 0 && !self.stopped
    }
}

/// Applies `input` at `now`. First everything due at positions up to `position(now)` is produced, in position
/// order; then the input is applied, and whatever it made due at once (a level at position 0 after a start or
/// reopen, a target that a retarget moved into the past) follows. A [`Input::Step`] is the exception: it shifts
/// the stored instants before anything else, since `now` is already on the stepped clock.
pub fn step(state: &mut State, policy: &Policy, hours: &dyn Hours, now: Timestamp, input: Input) -> Vec<Output> {
    let mut out = Vec::new();
    if let Input::Step { delta_ms } = input {
        state.round_start = shift(state.round_start, delta_ms);
        state.running_since = state.running_since.map(|t| shift(t, delta_ms));
        state.paused_since = state.paused_since.map(|t| shift(t, delta_ms));
    }
    catch_up(state, policy, hours, now, &mut out);
    apply(state, policy, hours, now, input, &mut out);
    catch_up(state, policy, hours, now, &mut out);
    out
}

/// The business milliseconds this round has consumed by `now`.
pub fn position(state: &State, hours: &dyn Hours, now: Timestamp) -> i64 {
    state.consumed_ms + state.running_since.map_or(0, |since| hours.open_ms(since, now))
}

/// The earliest instant at which [`Input::Tick`] would produce output: the next flag change, breach or level.
/// `None` while the clock is paused, stopped or not started, or when nothing is left to happen.
pub fn next_due(state: &State, policy: &Policy, hours: &dyn Hours) -> Option<Timestamp> {
    let since = state.running_since.filter(|_| state.live())?;
    let flag = active_targets(state, policy)
        .flat_map(|(_, ms)| [policy.yellow_ms(ms), ms])
        .filter(|&ms| flag_at(state, policy, ms) > state.flag)
        .min();
    let breach = [Target::Response, Target::Resolution]
        .into_iter()
        .filter(|&target| !breached(state, target))
        .filter_map(|target| breach_ms(state, policy, target))
        .min();
    let level = policy.levels[state.next_level.min(policy.levels.len())..]
        .iter()
        .find(|level| !until_happened(state, level.until))
        .map(|level| policy.level_ms(level));
    let ms = [flag, breach, level].into_iter().flatten().min()?;
    Some(hours.add_ms(since, ms - state.consumed_ms))
}

/// The report figures of a ticket.
pub fn measures(state: &State) -> Measures {
    Measures {
        response_ms: state.first_response_ms,
        resolution_ms: state.first_resolution_ms,
        paused_ms: state.paused_ms,
        response_breached: state.breached.response || state.breached_before.response,
        resolution_breached: state.breached.resolution || state.breached_before.resolution,
    }
}

/// Applies the input itself, after the catch-up.
fn apply(state: &mut State, policy: &Policy, hours: &dyn Hours, now: Timestamp, input: Input, out: &mut Vec<Output>) {
    if state.round == 0 {
        if let Input::Start { emergency, paused } = input {
            state.round = 1;
            state.round_start = now;
            if paused {
                state.pauses.insert(Pause::DoNotDisturb);
            }
            settle(state, hours, now);
            if emergency {
                out.extend((0..policy.levels.len()).map(|index| Output::Level {
                    index,
                    reason: Reason::Emergency,
                    due_at: now,
                }));
                state.next_level = policy.levels.len();
            }
        }
        return;
    }
    match input {
        Input::Start { .. } | Input::Tick | Input::Step { .. } => {}
        Input::Pause(pause) => {
            if state.pauses.insert(pause) {
                settle(state, hours, now);
            }
        }
        Input::Resume(pause) => {
            if state.pauses.remove(&pause) {
                settle(state, hours, now);
            }
        }
        Input::Acknowledge if state.live() && state.acknowledged_ms.is_none() => {
            let at = position(state, hours, now);
            state.acknowledged_ms = Some(at);
            state.first_response_ms.get_or_insert(at);
            refresh_flag(state, policy, hours, now, out);
        }
        Input::Resolve | Input::Cancel if state.live() => {
            if input == Input::Resolve {
                state.first_resolution_ms.get_or_insert(position(state, hours, now));
            }
            state.stopped = true;
            settle(state, hours, now);
        }
        Input::Reopen if state.stopped => {
            state.round += 1;
            state.round_start = now;
            state.consumed_ms = 0;
            state.acknowledged_ms = None;
            state.stopped = false;
            state.next_level = 0;
            state.flag = Flag::Green;
            state.breached_before.response |= state.breached.response;
            state.breached_before.resolution |= state.breached.resolution;
            state.breached = Breaches::default();
            state.pauses.remove(&Pause::Hold);
            settle(state, hours, now);
        }
        Input::Retarget if state.live() => {
            refresh_flag(state, policy, hours, now, out);
            let at = position(state, hours, now);
            for target in [Target::Response, Target::Resolution] {
                let holds = breach_ms(state, policy, target).is_some_and(|ms| ms <= at);
                if breached(state, target) && !holds {
                    set_breached(state, target, false);
                    out.push(Output::BreachCleared { target });
                }
            }
        }
        Input::Escalate if state.live() && state.next_level < policy.levels.len() => {
            out.push(Output::Level { index: state.next_level, reason: Reason::Manual, due_at: now });
            state.next_level += 1;
        }
        Input::Acknowledge | Input::Resolve | Input::Cancel | Input::Reopen | Input::Retarget | Input::Escalate => {}
    }
}

/// Produces everything due at positions up to `position(now)`, in position order (at one position: flag, then
/// breaches, then levels), and skips the levels whose `until` has happened.
fn catch_up(state: &mut State, policy: &Policy, hours: &dyn Hours, now: Timestamp, out: &mut Vec<Output>) {
    if !state.live() {
        return;
    }
    let at = position(state, hours, now);
    let (since, consumed) = (state.running_since, state.consumed_ms);
    // When the clock ran continuously since the position was passed, the instant is exact; otherwise (a
    // retarget moved a point behind a pause) the point is only noticed now.
    let due_at = |ms: i64| match since {
        Some(since) if ms >= consumed => hours.add_ms(since, ms - consumed),
        _ => now,
    };
    let mut due = Vec::new();

    let mut thresholds: Vec<i64> =
        active_targets(state, policy).flat_map(|(_, ms)| [policy.yellow_ms(ms), ms]).filter(|&ms| ms <= at).collect();
    thresholds.sort_unstable();
    for ms in thresholds {
        let flag = flag_at(state, policy, ms);
        if flag > state.flag {
            state.flag = flag;
            let due_at = due_at(ms);
            // Changes noticed at one instant (after a retarget) are one change.
            if matches!(due.last(), Some((_, Output::Flag { due_at: last, .. })) if *last == due_at) {
                due.pop();
            }
            due.push((ms, Output::Flag { flag, due_at }));
        }
    }

    for target in [Target::Response, Target::Resolution] {
        if let Some(ms) = breach_ms(state, policy, target).filter(|&ms| ms <= at && !breached(state, target)) {
            set_breached(state, target, true);
            due.push((ms, Output::Breached { target, due_at: due_at(ms) }));
        }
    }

    while let Some(level) = policy.levels.get(state.next_level) {
        let ms = policy.level_ms(level);
        if !until_happened(state, level.until) {
            if ms > at {
                break;
            }
            due.push((ms, Output::Level { index: state.next_level, reason: Reason::Due, due_at: due_at(ms) }));
        }
        state.next_level += 1;
    }

    due.sort_by_key(|(ms, _)| *ms);
    out.extend(due.into_iter().map(|(_, output)| output));
}

/// Sets the flag to what the position says now, reporting a change. Used when a target goes away or moves.
fn refresh_flag(state: &mut State, policy: &Policy, hours: &dyn Hours, now: Timestamp, out: &mut Vec<Output>) {
    let flag = flag_at(state, policy, position(state, hours, now));
    if flag != state.flag {
        state.flag = flag;
        out.push(Output::Flag { flag, due_at: now });
    }
}

/// Starts or stops the running and paused spans so they match `round`, `stopped` and `pauses`.
fn settle(state: &mut State, hours: &dyn Hours, now: Timestamp) {
    let run = state.live() && state.pauses.is_empty();
    let pause = state.live() && !state.pauses.is_empty();
    if !run {
        if let Some(since) = state.running_since.take() {
            state.consumed_ms += hours.open_ms(since, now);
        }
    } else if state.running_since.is_none() {
        state.running_since = Some(now);
    }
    if !pause {
        if let Some(since) = state.paused_since.take() {
            state.paused_ms += wall_ms(since, now);
        }
    } else if state.paused_since.is_none() {
        state.paused_since = Some(now);
    }
}

/// The targets that still count for the flag: the response until acknowledged, the resolution until stopped.
fn active_targets<'a>(state: &'a State, policy: &'a Policy) -> impl Iterator<Item = (Target, i64)> + 'a {
    [Target::Response, Target::Resolution]
        .into_iter()
        .filter(|&target| match target {
            Target::Response => state.acknowledged_ms.is_none(),
            Target::Resolution => !state.stopped,
        })
        .map(|target| (target, policy.target_ms(target)))
}

/// The worst flag over the active targets at position `ms`.
fn flag_at(state: &State, policy: &Policy, ms: i64) -> Flag {
    active_targets(state, policy)
        .map(|(_, target)| {
            if ms >= target {
                Flag::Red
            } else if ms >= policy.yellow_ms(target) {
                Flag::Yellow
            } else {
                Flag::Green
            }
        })
        .max()
        .unwrap_or(Flag::Green)
}

/// The position at which `target` counts as breached in this round, or `None` when it was met.
fn breach_ms(state: &State, policy: &Policy, target: Target) -> Option<i64> {
    let ms = policy.target_ms(target);
    let met = match target {
        Target::Response => state.acknowledged_ms.is_some_and(|ack| ack < ms),
        Target::Resolution => state.stopped,
    };
    (!met).then_some(ms)
}

fn breached(state: &State, target: Target) -> bool {
    match target {
        Target::Response => state.breached.response,
        Target::Resolution => state.breached.resolution,
    }
}

fn set_breached(state: &mut State, target: Target, value: bool) {
    match target {
        Target::Response => state.breached.response = value,
        Target::Resolution => state.breached.resolution = value,
    }
}

fn until_happened(state: &State, until: Until) -> bool {
    match until {
        Until::Acknowledged => state.acknowledged_ms.is_some(),
        Until::Resolved => state.stopped,
    }
}

fn default_yellow_pct() -> u8 {
    DEFAULT_YELLOW_PCT
}

/// Whole milliseconds from `from` to `to`; 0 when `to` is not later.
fn wall_ms(from: Timestamp, to: Timestamp) -> i64 {
    i64::try_from(to.duration_since(from).as_millis()).unwrap_or(i64::MAX).max(0)
}

/// `t` moved by `ms`, saturating at the ends of time.
fn shift(t: Timestamp, ms: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_millis(ms)).unwrap_or(if ms < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

/// Instants as RFC 3339 strings in JSON (jiff's own serde support is not enabled in this workspace).
mod instant {
    use jiff::Timestamp;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(t)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }

    /// The same for an optional instant.
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.collect_str(t),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            Option::<String>::deserialize(d)?.map(|s| s.parse()).transpose().map_err(D::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;

    /// Test hours: open 08:00–18:00 UTC every day.
    struct Office;

    impl Hours for Office {
        fn open_ms(&self, from: Timestamp, to: Timestamp) -> i64 {
            let (from, to) = (from.as_millisecond(), to.as_millisecond());
            let mut total = 0;
            let mut day = from.div_euclid(DAY) * DAY;
            while day < to {
                total += ((day + 18 * HOUR).min(to) - (day + 8 * HOUR).max(from)).max(0);
                day += DAY;
            }
            total
        }

        fn add_ms(&self, from: Timestamp, ms: i64) -> Timestamp {
            if ms <= 0 {
                return from;
            }
            let (start, mut left) = (from.as_millisecond(), ms);
            let mut day = start.div_euclid(DAY) * DAY;
            loop {
                let (open, close) = (start.max(day + 8 * HOUR), day + 18 * HOUR);
                if open < close {
                    if left <= close - open {
                        return Timestamp::from_millisecond(open + left).unwrap();
                    }
                    left -= close - open;
                }
                day += DAY;
            }
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn plus(t: Timestamp, ms: i64) -> Timestamp {
        shift(t, ms)
    }

    fn flag(flag: Flag, due_at: Timestamp) -> Output {
        Output::Flag { flag, due_at }
    }

    fn breach(target: Target, due_at: Timestamp) -> Output {
        Output::Breached { target, due_at }
    }

    fn level(index: usize, reason: Reason, due_at: Timestamp) -> Output {
        Output::Level { index, reason, due_at }
    }

    fn spec(anchor: Anchor, delay_ms: i64, until: Until) -> LevelSpec {
        LevelSpec { anchor, delay_ms, until }
    }

    const START: Input = Input::Start { emergency: false, paused: false };

    /// "High" from the field table: respond in 10 min, resolve in 1 h, supervisor after 15 min, and more.
    fn high() -> Policy {
        Policy {
            levels: vec![
                spec(Anchor::Response, 5 * MIN, Until::Acknowledged),
                spec(Anchor::Resolution, -10 * MIN, Until::Resolved),
                spec(Anchor::Resolution, HOUR, Until::Resolved),
                spec(Anchor::Resolution, DAY, Until::Resolved),
            ],
            ..Policy::new(10 * MIN, HOUR)
        }
    }

    fn started(policy: &Policy, hours: &dyn Hours, now: Timestamp) -> State {
        let mut state = State::new(now);
        step(&mut state, policy, hours, now, START);
        state
    }

    /// Runs `script` of (ms after `t0`, input, expected outputs) against `state`.
    fn run(state: &mut State, policy: &Policy, hours: &dyn Hours, t0: Timestamp, script: &[(i64, Input, Vec<Output>)]) {
        for (ms, input, want) in script {
            let got = step(state, policy, hours, plus(t0, *ms), *input);
            assert_eq!(&got, want, "{input:?} at +{ms} ms");
        }
    }

    #[test]
    fn test_hours_keep_the_contract() {
        let cases = [
            ("2026-03-02T07:00:00Z", "2026-03-02T09:00:00Z", HOUR),
            ("2026-03-02T17:00:00Z", "2026-03-03T09:00:00Z", 2 * HOUR),
            ("2026-03-02T19:00:00Z", "2026-03-03T07:00:00Z", 0),
            ("2026-03-02T09:00:00Z", "2026-03-02T08:00:00Z", 0),
            ("2026-03-02T08:00:00Z", "2026-03-05T08:00:00Z", 30 * HOUR),
        ];
        for (from, to, ms) in cases {
            assert_eq!(Office.open_ms(at(from), at(to)), ms, "{from} .. {to}");
        }
        assert_eq!(Office.add_ms(at("2026-03-02T17:00:00Z"), HOUR), at("2026-03-02T18:00:00Z"));
        assert_eq!(Office.add_ms(at("2026-03-02T17:00:00Z"), HOUR + 1), at("2026-03-03T08:00:00.001Z"));
        assert_eq!(Office.add_ms(at("2026-03-02T20:00:00Z"), 0), at("2026-03-02T20:00:00Z"));
        assert_eq!(AlwaysOpen.open_ms(at("2026-03-02T17:00:00Z"), at("2026-03-02T17:00:01.5Z")), 1500);
        assert_eq!(AlwaysOpen.add_ms(at("2026-03-02T17:00:00Z"), -5), at("2026-03-02T17:00:00Z"));
    }

    #[test]
    fn flags_turn_yellow_and_red_at_the_right_instants() {
        let policy = Policy::new(10 * MIN, HOUR);
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = started(&policy, &AlwaysOpen, t0);
        let t = |ms| plus(t0, ms);
        run(
            &mut state,
            &policy,
            &AlwaysOpen,
            t0,
            &[
                (7 * MIN + 29_999, Input::Tick, vec![]),
                (7 * MIN + 30_000, Input::Tick, vec![flag(Flag::Yellow, t(7 * MIN + 30_000))]),
                (10 * MIN - 1, Input::Tick, vec![]),
                (10 * MIN, Input::Tick, vec![flag(Flag::Red, t(10 * MIN)), breach(Target::Response, t(10 * MIN))]),
                // The response target goes away: the flag is the resolution's colour again.
                (12 * MIN, Input::Acknowledge, vec![flag(Flag::Green, t(12 * MIN))]),
                (45 * MIN - 1, Input::Tick, vec![]),
                (45 * MIN, Input::Tick, vec![flag(Flag::Yellow, t(45 * MIN))]),
                (HOUR, Input::Tick, vec![flag(Flag::Red, t(HOUR)), breach(Target::Resolution, t(HOUR))]),
                (HOUR, Input::Tick, vec![]),
            ],
        );
        assert_eq!(state.breached, Breaches { response: true, resolution: true });
    }

    #[test]
    fn a_72_hour_gap_produces_everything_once_in_position_order() {
        let policy = high();
        let t0 = at("2026-03-02T17:00:00Z");
        let mut state = started(&policy, &Office, t0);
        let now = at("2026-03-05T17:00:00Z");
        let want = vec![
            flag(Flag::Yellow, at("2026-03-02T17:07:30Z")),
            flag(Flag::Red, at("2026-03-02T17:10:00Z")),
            breach(Target::Response, at("2026-03-02T17:10:00Z")),
            level(0, Reason::Due, at("2026-03-02T17:15:00Z")),
            level(1, Reason::Due, at("2026-03-02T17:50:00Z")),
            breach(Target::Resolution, at("2026-03-02T18:00:00Z")),
            level(2, Reason::Due, at("2026-03-03T09:00:00Z")),
            level(3, Reason::Due, at("2026-03-05T12:00:00Z")),
        ];
        assert_eq!(step(&mut state, &policy, &Office, now, Input::Tick), want);
        assert_eq!(step(&mut state, &policy, &Office, now, Input::Tick), vec![]);
        assert_eq!(step(&mut state, &policy, &Office, plus(now, 30 * DAY), Input::Tick), vec![]);
        assert_eq!(next_due(&state, &policy, &Office), None);
    }

    #[test]
    fn catch_up_after_a_restart_from_json() {
        let policy = high();
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = started(&policy, &AlwaysOpen, t0);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 8 * MIN), Input::Tick);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 9 * MIN), Input::Pause(Pause::DoNotDisturb));
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 11 * MIN), Input::Resume(Pause::DoNotDisturb));

        let json = serde_json::to_string(&state).unwrap();
        assert!(json.contains(r#""running_since":"2026-03-02T10:11:00Z""#), "{json}");
        let mut restored: State = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, state);

        let now = plus(t0, 2 * HOUR);
        let want = vec![
            flag(Flag::Red, plus(t0, 12 * MIN)),
            breach(Target::Response, plus(t0, 12 * MIN)),
            level(0, Reason::Due, plus(t0, 17 * MIN)),
            level(1, Reason::Due, plus(t0, 52 * MIN)),
            breach(Target::Resolution, plus(t0, 62 * MIN)),
        ];
        assert_eq!(step(&mut restored, &policy, &AlwaysOpen, now, Input::Tick), want);
        assert_eq!(step(&mut restored, &policy, &AlwaysOpen, now, Input::Tick), vec![]);
        assert_eq!(next_due(&restored, &policy, &AlwaysOpen), Some(plus(t0, 2 * HOUR + 2 * MIN)));
    }

    #[test]
    fn a_level_is_skipped_when_its_until_came_first() {
        let policy = Policy {
            levels: vec![
                spec(Anchor::Response, 5 * MIN, Until::Acknowledged),
                spec(Anchor::Created, 20 * MIN, Until::Resolved),
            ],
            ..Policy::new(10 * MIN, HOUR)
        };
        let t0 = at("2026-03-02T10:00:00Z");
        // (minute of the acknowledgement, levels fired by minute 30)
        let cases: [(i64, &[usize]); 3] = [(12, &[1]), (15, &[0, 1]), (16, &[0, 1])];
        for (ack, fired) in cases {
            let mut state = started(&policy, &AlwaysOpen, t0);
            let mut levels = Vec::new();
            for (min, input) in [(ack, Input::Acknowledge), (30, Input::Tick), (90, Input::Tick)] {
                for output in step(&mut state, &policy, &AlwaysOpen, plus(t0, min * MIN), input) {
                    if let Output::Level { index, .. } = output {
                        levels.push(index);
                    }
                }
            }
            assert_eq!(levels, fired, "acknowledged at minute {ack}");
            assert_eq!(state.next_level, 2);
        }
    }

    #[test]
    fn a_pause_across_closing_time() {
        let policy = Policy::new(HOUR, 4 * HOUR);
        // (start, pause, resume, when the resolution turns red)
        let cases = [
            ("2026-03-02T16:00:00Z", "2026-03-02T17:00:00Z", "2026-03-03T09:00:00Z", "2026-03-03T12:00:00Z"),
            ("2026-03-02T16:00:00Z", "2026-03-02T17:00:00Z", "2026-03-02T20:00:00Z", "2026-03-03T11:00:00Z"),
            ("2026-03-02T16:00:00Z", "2026-03-02T19:00:00Z", "2026-03-03T10:00:00Z", "2026-03-03T12:00:00Z"),
            ("2026-03-02T07:00:00Z", "2026-03-02T07:30:00Z", "2026-03-02T09:00:00Z", "2026-03-02T13:00:00Z"),
        ];
        for (start, pause, resume, red) in cases {
            let mut state = started(&policy, &Office, at(start));
            step(&mut state, &policy, &Office, at(pause), Input::Pause(Pause::Hold));
            assert_eq!(next_due(&state, &policy, &Office), None);
            step(&mut state, &policy, &Office, at(resume), Input::Resume(Pause::Hold));
            let out = step(&mut state, &policy, &Office, at(red), Input::Tick);
            assert!(out.contains(&breach(Target::Resolution, at(red))), "{start} {pause} {resume}: {out:?}");
            assert_eq!(position(&state, &Office, at(red)), 4 * HOUR);
        }
    }

    #[test]
    fn a_multi_day_pause_stops_everything() {
        let policy = high();
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = started(&policy, &AlwaysOpen, t0);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 5 * MIN), Input::Acknowledge);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 30 * MIN), Input::Pause(Pause::Hold));
        for days in [1, 2, 3] {
            assert_eq!(step(&mut state, &policy, &AlwaysOpen, plus(t0, days * DAY), Input::Tick), vec![]);
            assert_eq!(position(&state, &AlwaysOpen, plus(t0, days * DAY)), 30 * MIN);
        }
        let back = plus(t0, 30 * MIN + 3 * DAY);
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, back, Input::Resume(Pause::Hold)), vec![]);
        assert_eq!(next_due(&state, &policy, &AlwaysOpen), Some(plus(back, 15 * MIN)));
        let out = step(&mut state, &policy, &AlwaysOpen, plus(back, HOUR), Input::Tick);
        assert_eq!(
            out,
            vec![
                flag(Flag::Yellow, plus(back, 15 * MIN)),
                level(1, Reason::Due, plus(back, 20 * MIN)),
                flag(Flag::Red, plus(back, 30 * MIN)),
                breach(Target::Resolution, plus(back, 30 * MIN)),
            ]
        );
        assert_eq!(measures(&state).paused_ms, 3 * DAY);
    }

    #[test]
    fn repeated_pauses_add_up() {
        let policy = Policy::new(2 * HOUR, HOUR);
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = started(&policy, &AlwaysOpen, t0);
        // Runs 5 minutes of every 10: the hour is used up at minute 115.
        for k in 0..11 {
            let pause = plus(t0, (10 * k + 5) * MIN);
            step(&mut state, &policy, &AlwaysOpen, pause, Input::Pause(Pause::Hold));
            let again = state.clone();
            assert_eq!(step(&mut state, &policy, &AlwaysOpen, pause, Input::Pause(Pause::Hold)), vec![]);
            assert_eq!(state, again, "a second pause changes nothing");
            step(&mut state, &policy, &AlwaysOpen, plus(pause, 5 * MIN), Input::Resume(Pause::Hold));
        }
        assert_eq!(position(&state, &AlwaysOpen, plus(t0, 110 * MIN)), 55 * MIN);
        assert_eq!(next_due(&state, &policy, &AlwaysOpen), Some(plus(t0, 115 * MIN)));
        let resumed = state.clone();
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, plus(t0, 111 * MIN), Input::Resume(Pause::Hold)), vec![]);
        assert_eq!(state, resumed, "resuming a pause that is not active changes nothing");
        assert_eq!(
            step(&mut state, &policy, &AlwaysOpen, plus(t0, 115 * MIN), Input::Tick),
            vec![flag(Flag::Red, plus(t0, 115 * MIN)), breach(Target::Resolution, plus(t0, 115 * MIN))]
        );
        assert_eq!(measures(&state).paused_ms, 55 * MIN);
    }

    #[test]
    fn hold_and_do_not_disturb_overlapping() {
        let policy = Policy::new(HOUR, 2 * HOUR);
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = started(&policy, &AlwaysOpen, t0);
        // (minute, input, position after it)
        let script = [
            (10, Input::Pause(Pause::DoNotDisturb), 10),
            (20, Input::Pause(Pause::Hold), 10),
            (30, Input::Resume(Pause::DoNotDisturb), 10),
            (35, Input::Tick, 10),
            (40, Input::Resume(Pause::Hold), 10),
            (50, Input::Tick, 20),
        ];
        for (min, input, pos) in script {
            step(&mut state, &policy, &AlwaysOpen, plus(t0, min * MIN), input);
            assert_eq!(position(&state, &AlwaysOpen, plus(t0, min * MIN)), pos * MIN, "{input:?} at {min}");
        }
        assert_eq!(measures(&state).paused_ms, 30 * MIN);
    }

    #[test]
    fn paused_straight_to_resolved() {
        let policy = high();
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = started(&policy, &AlwaysOpen, t0);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 5 * MIN), Input::Pause(Pause::Hold));
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, plus(t0, 125 * MIN), Input::Resolve), vec![]);
        assert!(state.stopped);
        assert_eq!((state.running_since, state.paused_since), (None, None));
        assert_eq!(next_due(&state, &policy, &AlwaysOpen), None);
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, plus(t0, 2 * DAY), Input::Tick), vec![]);
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, plus(t0, 2 * DAY), Input::Resume(Pause::Hold)), vec![]);
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, plus(t0, 3 * DAY), Input::Tick), vec![]);
        assert_eq!(
            measures(&state),
            Measures {
                response_ms: None,
                resolution_ms: Some(5 * MIN),
                paused_ms: 2 * HOUR,
                response_breached: false,
                resolution_breached: false,
            }
        );
    }

    #[test]
    fn a_priority_change_while_paused() {
        let medium = Policy {
            levels: vec![spec(Anchor::Created, 30 * MIN, Until::Resolved)],
            ..Policy::new(15 * MIN, 2 * HOUR)
        };
        let high = Policy {
            levels: vec![
                spec(Anchor::Created, 15 * MIN, Until::Resolved),
                spec(Anchor::Resolution, 0, Until::Resolved),
            ],
            ..Policy::new(10 * MIN, HOUR)
        };
        let t0 = at("2026-03-02T10:00:00Z");
        let held = plus(t0, 70 * MIN);
        let now = plus(t0, 3 * HOUR);
        let mut state = started(&medium, &AlwaysOpen, t0);
        run(
            &mut state,
            &medium,
            &AlwaysOpen,
            t0,
            &[
                (5 * MIN, Input::Acknowledge, vec![]),
                (70 * MIN, Input::Pause(Pause::Hold), vec![level(0, Reason::Due, plus(t0, 30 * MIN))]),
            ],
        );
        // Raised to high while on hold: level 0 stays handled, level 1 and the breach are noticed now.
        let out = step(&mut state, &high, &AlwaysOpen, now, Input::Retarget);
        assert_eq!(out, vec![flag(Flag::Red, now), breach(Target::Resolution, now), level(1, Reason::Due, now),]);
        assert_eq!(next_due(&state, &high, &AlwaysOpen), None);
        // Lowered again: the breach no longer holds.
        let later = plus(now, HOUR);
        let out = step(&mut state, &medium, &AlwaysOpen, later, Input::Retarget);
        assert_eq!(out, vec![flag(Flag::Green, later), Output::BreachCleared { target: Target::Resolution }]);
        assert_eq!(state.next_level, 2, "levels already handled stay handled");
        let back = plus(later, HOUR);
        step(&mut state, &medium, &AlwaysOpen, back, Input::Resume(Pause::Hold));
        assert_eq!(position(&state, &AlwaysOpen, back), 70 * MIN);
        assert_eq!(next_due(&state, &medium, &AlwaysOpen), Some(plus(back, 20 * MIN)));
        assert_eq!(measures(&state).paused_ms, back.duration_since(held).as_millis() as i64);
    }

    #[test]
    fn an_hours_change_clears_a_stale_breach() {
        let policy = Policy { levels: vec![spec(Anchor::Resolution, 0, Until::Resolved)], ..Policy::new(0, 4 * HOUR) };
        let t0 = at("2026-03-06T17:00:00Z");
        let mut state = started(&policy, &AlwaysOpen, t0);
        step(&mut state, &policy, &AlwaysOpen, t0, Input::Acknowledge);
        let out = step(&mut state, &policy, &AlwaysOpen, at("2026-03-06T21:00:00Z"), Input::Tick);
        assert_eq!(
            out,
            vec![
                flag(Flag::Yellow, at("2026-03-06T20:00:00Z")),
                flag(Flag::Red, at("2026-03-06T21:00:00Z")),
                breach(Target::Resolution, at("2026-03-06T21:00:00Z")),
                level(0, Reason::Due, at("2026-03-06T21:00:00Z")),
            ]
        );
        // The department really closes at 18:00: one business hour has passed, not four.
        let now = at("2026-03-06T21:30:00Z");
        let out = step(&mut state, &policy, &Office, now, Input::Retarget);
        assert_eq!(out, vec![flag(Flag::Green, now), Output::BreachCleared { target: Target::Resolution }]);
        assert!(!measures(&state).resolution_breached);
        assert_eq!(next_due(&state, &policy, &Office), Some(at("2026-03-07T10:00:00Z")));
        let out = step(&mut state, &policy, &Office, at("2026-03-07T12:00:00Z"), Input::Tick);
        assert_eq!(
            out,
            vec![
                flag(Flag::Yellow, at("2026-03-07T10:00:00Z")),
                flag(Flag::Red, at("2026-03-07T11:00:00Z")),
                breach(Target::Resolution, at("2026-03-07T11:00:00Z")),
            ],
            "the level already fired does not fire again"
        );
    }

    #[test]
    fn reopen_after_close_starts_a_new_round() {
        let policy = Policy {
            levels: vec![spec(Anchor::Created, 0, Until::Resolved), spec(Anchor::Resolution, 0, Until::Resolved)],
            ..Policy::new(10 * MIN, HOUR)
        };
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = State::new(t0);
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, t0, START), vec![level(0, Reason::Due, t0)]);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 3 * MIN), Input::Acknowledge);
        let out = step(&mut state, &policy, &AlwaysOpen, plus(t0, 70 * MIN), Input::Resolve);
        assert!(out.contains(&breach(Target::Resolution, plus(t0, HOUR))), "{out:?}");
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 80 * MIN), Input::Pause(Pause::Hold));
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 90 * MIN), Input::Pause(Pause::DoNotDisturb));
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, plus(t0, 2 * HOUR), Input::Tick), vec![]);

        let t1 = plus(t0, DAY);
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, t1, Input::Reopen), vec![level(0, Reason::Due, t1)]);
        assert_eq!((state.round, state.flag, state.stopped, state.next_level), (2, Flag::Green, false, 1));
        assert_eq!(state.pauses, BTreeSet::from([Pause::DoNotDisturb]), "hold cleared, do-not-disturb kept");
        assert_eq!(state.breached, Breaches::default());
        assert_eq!(next_due(&state, &policy, &AlwaysOpen), None, "paused by do-not-disturb");
        step(&mut state, &policy, &AlwaysOpen, plus(t1, 30 * MIN), Input::Resume(Pause::DoNotDisturb));
        assert_eq!(position(&state, &AlwaysOpen, plus(t1, 40 * MIN)), 10 * MIN);
        step(&mut state, &policy, &AlwaysOpen, plus(t1, 45 * MIN), Input::Acknowledge);
        step(&mut state, &policy, &AlwaysOpen, plus(t1, 50 * MIN), Input::Resolve);
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, plus(t1, 50 * MIN), Input::Reopen).len(), 1);
        assert_eq!(
            measures(&state),
            Measures {
                response_ms: Some(3 * MIN),
                resolution_ms: Some(70 * MIN),
                paused_ms: 30 * MIN,
                response_breached: true,
                resolution_breached: true,
            }
        );
    }

    #[test]
    fn reopen_of_a_running_clock_changes_nothing() {
        let policy = high();
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = started(&policy, &AlwaysOpen, t0);
        let before = state.clone();
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, t0, Input::Reopen), vec![]);
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, t0, START), vec![]);
        assert_eq!(state, before);
    }

    #[test]
    fn an_emergency_fires_every_level_at_once() {
        let policy = high();
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = State::new(t0);
        let out = step(&mut state, &policy, &AlwaysOpen, t0, Input::Start { emergency: true, paused: false });
        assert_eq!(out, (0..4).map(|i| level(i, Reason::Emergency, t0)).collect::<Vec<_>>());
        let out = step(&mut state, &policy, &AlwaysOpen, plus(t0, 3 * DAY), Input::Tick);
        assert_eq!(
            out,
            vec![
                flag(Flag::Yellow, plus(t0, 7 * MIN + 30_000)),
                flag(Flag::Red, plus(t0, 10 * MIN)),
                breach(Target::Response, plus(t0, 10 * MIN)),
                breach(Target::Resolution, plus(t0, HOUR)),
            ]
        );
        assert_eq!(step(&mut state, &policy, &AlwaysOpen, plus(t0, 3 * DAY), Input::Escalate), vec![]);
    }

    #[test]
    fn manual_escalation_takes_the_next_level() {
        let policy = Policy {
            levels: vec![
                spec(Anchor::Created, 15 * MIN, Until::Resolved),
                spec(Anchor::Created, 30 * MIN, Until::Resolved),
            ],
            ..Policy::new(HOUR, 2 * HOUR)
        };
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = started(&policy, &AlwaysOpen, t0);
        run(
            &mut state,
            &policy,
            &AlwaysOpen,
            t0,
            &[
                (MIN, Input::Escalate, vec![level(0, Reason::Manual, plus(t0, MIN))]),
                (20 * MIN, Input::Tick, vec![]),
                (31 * MIN, Input::Tick, vec![level(1, Reason::Due, plus(t0, 30 * MIN))]),
                (32 * MIN, Input::Escalate, vec![]),
            ],
        );
    }

    #[test]
    fn manual_escalation_passes_over_a_level_no_longer_wanted() {
        let policy = Policy {
            levels: vec![
                spec(Anchor::Response, 5 * MIN, Until::Acknowledged),
                spec(Anchor::Created, 30 * MIN, Until::Resolved),
            ],
            ..Policy::new(10 * MIN, 2 * HOUR)
        };
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = started(&policy, &AlwaysOpen, t0);
        run(
            &mut state,
            &policy,
            &AlwaysOpen,
            t0,
            &[
                (MIN, Input::Acknowledge, vec![]),
                (2 * MIN, Input::Escalate, vec![level(1, Reason::Manual, plus(t0, 2 * MIN))]),
                (HOUR, Input::Tick, vec![]),
            ],
        );
    }

    #[test]
    fn a_clock_step_neither_bursts_nor_freezes() {
        let policy =
            Policy { levels: vec![spec(Anchor::Created, 30 * MIN, Until::Resolved)], ..Policy::new(HOUR, 2 * HOUR) };
        let t0 = at("2026-03-02T10:00:00Z");
        for delta in [HOUR, -HOUR] {
            let mut state = started(&policy, &AlwaysOpen, t0);
            step(&mut state, &policy, &AlwaysOpen, plus(t0, 20 * MIN), Input::Tick);
            // The control: without the step input, the jump forward is taken for elapsed time.
            let mut naive = state.clone();
            let jumped = plus(t0, 20 * MIN + delta);
            let naive_out = step(&mut naive, &policy, &AlwaysOpen, plus(jumped, MIN), Input::Tick);
            assert_eq!(naive_out.is_empty(), delta < 0, "{delta}");

            assert_eq!(step(&mut state, &policy, &AlwaysOpen, jumped, Input::Step { delta_ms: delta }), vec![]);
            assert_eq!(position(&state, &AlwaysOpen, jumped), 20 * MIN);
            assert_eq!(position(&state, &AlwaysOpen, plus(jumped, 5 * MIN)), 25 * MIN, "not frozen ({delta})");
            assert_eq!(next_due(&state, &policy, &AlwaysOpen), Some(plus(jumped, 10 * MIN)));
            assert_eq!(step(&mut state, &policy, &AlwaysOpen, plus(jumped, 10 * MIN - 1), Input::Tick), vec![]);
            assert_eq!(
                step(&mut state, &policy, &AlwaysOpen, plus(jumped, 10 * MIN), Input::Tick),
                vec![level(0, Reason::Due, plus(jumped, 10 * MIN))]
            );
            assert_eq!(state.round_start, plus(t0, delta));
        }
    }

    #[test]
    fn a_clock_a_day_ahead_put_right_moves_the_round_and_its_deadlines_back_together() {
        // Raised at 10:00 on a clock that reads Tuesday on Monday; ten minutes later NTP puts it right.
        let policy =
            Policy { levels: vec![spec(Anchor::Created, 30 * MIN, Until::Resolved)], ..Policy::new(HOUR, 4 * HOUR) };
        let wrong = at("2026-03-03T10:00:00Z");
        let mut state = started(&policy, &Office, wrong);
        assert_eq!(next_due(&state, &policy, &Office), Some(plus(wrong, 30 * MIN)));
        let right = at("2026-03-02T10:10:00Z");
        assert_eq!(step(&mut state, &policy, &Office, right, Input::Step { delta_ms: -DAY }), vec![]);
        assert_eq!(state.round_start, at("2026-03-02T10:00:00Z"), "the round began ten minutes ago on the new clock");
        assert_eq!(position(&state, &Office, right), 10 * MIN, "the ten minutes that passed are kept");
        let due = next_due(&state, &policy, &Office).unwrap();
        assert_eq!(due, at("2026-03-02T10:30:00Z"));
        assert!(due > state.round_start, "no deadline before the round began");
    }

    #[test]
    fn a_step_while_paused_keeps_the_paused_time() {
        let policy = Policy::new(HOUR, 2 * HOUR);
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = started(&policy, &AlwaysOpen, t0);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 10 * MIN), Input::Pause(Pause::Hold));
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 20 * MIN - HOUR), Input::Step { delta_ms: -HOUR });
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 30 * MIN - HOUR), Input::Resume(Pause::Hold));
        assert_eq!(measures(&state).paused_ms, 20 * MIN);
        assert_eq!(position(&state, &AlwaysOpen, plus(t0, 40 * MIN - HOUR)), 20 * MIN);
    }

    #[test]
    fn an_after_hours_start_waits_for_opening() {
        let policy = Policy { levels: vec![spec(Anchor::Created, 0, Until::Resolved)], ..Policy::new(10 * MIN, HOUR) };
        let t0 = at("2026-03-02T20:00:00Z");
        let mut state = State::new(t0);
        assert_eq!(step(&mut state, &policy, &Office, t0, START), vec![level(0, Reason::Due, t0)]);
        for (now, pos) in [
            ("2026-03-02T23:00:00Z", 0),
            ("2026-03-03T07:59:59.999Z", 0),
            ("2026-03-03T08:00:00Z", 0),
            ("2026-03-03T08:05:00Z", 5 * MIN),
        ] {
            assert_eq!(position(&state, &Office, at(now)), pos, "{now}");
            assert_eq!(step(&mut state, &policy, &Office, at(now), Input::Tick), vec![], "{now}");
        }
        assert_eq!(next_due(&state, &policy, &Office), Some(at("2026-03-03T08:07:30Z")));
    }

    #[test]
    fn measures_take_the_first_round() {
        let policy = Policy::new(10 * MIN, HOUR);
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = State::new(t0);
        step(&mut state, &policy, &AlwaysOpen, t0, Input::Start { emergency: false, paused: true });
        assert_eq!(measures(&state).response_ms, None);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 15 * MIN), Input::Resume(Pause::DoNotDisturb));
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 23 * MIN), Input::Acknowledge);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 24 * MIN), Input::Acknowledge);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, 50 * MIN), Input::Cancel);
        let cancelled = measures(&state);
        assert_eq!(cancelled.resolution_ms, None, "a cancellation is no resolution");
        step(&mut state, &policy, &AlwaysOpen, plus(t0, DAY), Input::Reopen);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, DAY + 20 * MIN), Input::Acknowledge);
        step(&mut state, &policy, &AlwaysOpen, plus(t0, DAY + 40 * MIN), Input::Resolve);
        assert_eq!(
            measures(&state),
            Measures {
                response_ms: Some(8 * MIN),
                resolution_ms: Some(40 * MIN),
                paused_ms: 15 * MIN,
                response_breached: true,
                resolution_breached: false,
            }
        );
    }

    #[test]
    fn inputs_before_start_are_ignored() {
        let policy = high();
        let t0 = at("2026-03-02T10:00:00Z");
        let mut state = State::new(t0);
        for input in [Input::Tick, Input::Acknowledge, Input::Pause(Pause::Hold), Input::Escalate, Input::Resolve] {
            assert_eq!(step(&mut state, &policy, &AlwaysOpen, plus(t0, DAY), input), vec![]);
        }
        assert_eq!(state, State::new(t0));
        assert_eq!(next_due(&state, &policy, &AlwaysOpen), None);
    }

    fn arb_level() -> impl Strategy<Value = LevelSpec> {
        let anchor = prop_oneof![Just(Anchor::Created), Just(Anchor::Response), Just(Anchor::Resolution)];
        let until = prop_oneof![Just(Until::Acknowledged), Just(Until::Resolved)];
        (anchor, -60i64..240, until).prop_map(|(anchor, delay, until)| spec(anchor, delay * MIN, until))
    }

    fn arb_policy() -> impl Strategy<Value = Policy> {
        (0i64..300, 0i64..900, 50u8..=100, proptest::collection::vec(arb_level(), 0..5)).prop_map(
            |(response, resolution, yellow_pct, levels)| {
                let mut policy = Policy { yellow_pct, levels, ..Policy::new(response * MIN, resolution * MIN) };
                let mut levels = policy.levels.clone();
                levels.sort_by_key(|level| policy.level_ms(level));
                policy.levels = levels;
                policy
            },
        )
    }

    fn arb_input() -> impl Strategy<Value = Input> {
        let pause = prop_oneof![Just(Pause::Hold), Just(Pause::DoNotDisturb)];
        prop_oneof![
            4 => Just(Input::Tick),
            2 => pause.clone().prop_map(Input::Pause),
            2 => pause.prop_map(Input::Resume),
            2 => Just(Input::Acknowledge),
            1 => Just(Input::Resolve),
            1 => Just(Input::Cancel),
            1 => Just(Input::Reopen),
            2 => Just(Input::Retarget),
            1 => Just(Input::Escalate),
            1 => (-120i64..120).prop_map(|min| Input::Step { delta_ms: min * MIN }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn next_due_is_exactly_when_tick_first_produces_output(
            policies in (arb_policy(), arb_policy()),
            office: bool,
            start_min in 0i64..(24 * 60),
            emergency: bool,
            paused: bool,
            events in proptest::collection::vec((0i64..600, arb_input()), 0..16),
        ) {
            let hours: &dyn Hours = if office { &Office } else { &AlwaysOpen };
            let policies = [policies.0, policies.1];
            let mut which = 0;
            let mut now = plus(at("2026-03-02T00:00:00Z"), start_min * MIN);
            let mut state = State::new(now);
            step(&mut state, &policies[0], hours, now, Input::Start { emergency, paused });
            for (gap_min, input) in std::iter::once((0, Input::Tick)).chain(events) {
                now = plus(now, gap_min * MIN);
                if let Input::Step { delta_ms } = input {
                    now = plus(now, delta_ms);
                }
                if input == Input::Retarget {
                    which = 1 - which;
                }
                let policy = &policies[which];
                step(&mut state, policy, hours, now, input);
                match next_due(&state, policy, hours) {
                    Some(due) => {
                        prop_assert!(due > now, "{due} is not after {now}");
                        prop_assert!(due >= state.round_start, "{due} is before the round began");
                        let mut early = state.clone();
                        prop_assert_eq!(step(&mut early, policy, hours, plus(due, -1), Input::Tick), vec![]);
                        let mut on_time = state.clone();
                        prop_assert!(!step(&mut on_time, policy, hours, due, Input::Tick).is_empty());
                    }
                    None => {
                        let mut late = state.clone();
                        prop_assert_eq!(step(&mut late, policy, hours, plus(now, 400 * DAY), Input::Tick), vec![]);
                    }
                }
            }
        }
    }
}
