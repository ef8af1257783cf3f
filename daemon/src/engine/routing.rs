//! Routing rules: the ordered rule set that decides a ticket's department, priority, SLA policy and skill. Pure.
//!
//! Rules are tried in order and the first whose conditions all hold wins; a ticket no rule matches keeps its
//! catalog item's defaults. Every decision records why each earlier rule was passed over, cheaply (a rule index and
//! a [`Condition`]), and can be put into words later for the explain API and the journal.

use std::fmt::{self, Display};

use jiff::civil::{DateTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::engine::shifts::{hhmm, weekday_name, ShiftPattern, Window};
pub use crate::vocab::Occupancy;
use crate::vocab::{CatalogItem, GuestTier, Location, LocationClass, LocationKind, Priority, Source};

/// When a rule applies. An empty list means "any"; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// Catalog item codes.
    pub items: Vec<String>,
    /// Catalog categories.
    pub categories: Vec<String>,
    /// Location kinds.
    pub kinds: Vec<LocationKind>,
    /// Buildings.
    pub buildings: Vec<String>,
    /// Wings.
    pub wings: Vec<String>,
    /// Floors.
    pub floors: Vec<i32>,
    /// Location classes.
    pub classes: Vec<LocationClass>,
    /// Where the ticket came from.
    pub sources: Vec<Source>,
    /// The guest's tier.
    pub guest_tiers: Vec<GuestTier>,
    /// The room's occupancy.
    pub occupancy: Vec<Occupancy>,
    /// Days of the week; with a `window` that crosses midnight, the day on which the window began.
    pub days: Vec<Weekday>,
    /// Local hours.
    pub window: Option<Window>,
    /// Names of the property's shift patterns; any one of them covering the time will do.
    pub shifts: Vec<String>,
}

/// One kind of condition, as the reason a rule did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// [`Conditions::items`].
    Item,
    /// [`Conditions::categories`].
    Category,
    /// [`Conditions::sources`].
    Source,
    /// [`Conditions::guest_tiers`].
    GuestTier,
    /// [`Conditions::occupancy`].
    Occupancy,
    /// [`Conditions::kinds`].
    Kind,
    /// [`Conditions::buildings`].
    Building,
    /// [`Conditions::wings`].
    Wing,
    /// [`Conditions::floors`].
    Floor,
    /// [`Conditions::classes`].
    Class,
    /// [`Conditions::window`].
    Window,
    /// [`Conditions::days`].
    Day,
    /// [`Conditions::shifts`].
    Shift,
}

/// What a rule sets; what it leaves unset comes from the catalog item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Outcome {
    /// The department that owns the ticket.
    pub department: Option<String>,
    /// The priority.
    pub priority: Option<Priority>,
    /// The SLA policy.
    pub sla: Option<String>,
    /// The skill staff need.
    pub skill: Option<String>,
}

/// A named routing rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Its name, shown in explanations.
    pub name: String,
    /// When it applies.
    pub when: Conditions,
    /// What it sets.
    pub then: Outcome,
}

/// What is being routed: one new ticket and the circumstances of its raising.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The catalog item asked for.
    pub item: &'a CatalogItem,
    /// Where; `None` when the property lists no locations, and then no location condition matches.
    pub location: Option<&'a Location>,
    /// The guest's tier.
    pub guest_tier: GuestTier,
    /// The room's occupancy.
    pub occupancy: Occupancy,
    /// Where the ticket came from.
    pub source: Source,
    /// The local civil time in the property's time zone.
    pub at: DateTime,
    /// The property's shift patterns, for [`Conditions::shifts`].
    pub shifts: &'a [ShiftPattern],
}

/// Why one rule was passed over: the first of its conditions, in [`Conditions::check`]'s order, that did not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Miss {
    /// The rule's index in the rule set.
    pub rule: usize,
    /// The condition that failed.
    pub failed: Condition,
}

/// The decision for one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routing {
    /// The department that owns it.
    pub department: String,
    /// Its priority.
    pub priority: Priority,
    /// Its SLA policy, if the rule or item names one.
    pub sla: Option<String>,
    /// The skill staff need, if any.
    pub skill: Option<String>,
    /// The name of the rule that matched; `None` when the catalog item's defaults apply.
    pub rule: Option<String>,
    /// The rules before the match (all of them, when none matched) and why each did not match.
    pub skipped: Vec<Miss>,
}

/// Routes one ticket: the first rule whose conditions all hold decides, field by field over the catalog defaults.
pub fn route(rules: &[Rule], subject: &Subject<'_>) -> Routing {
    let mut skipped = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        match rule.when.check(subject) {
            Ok(()) => return decide(subject.item, Some(rule), skipped),
            Err(failed) => skipped.push(Miss { rule: index, failed }),
        }
    }
    decide(subject.item, None, skipped)
}

impl Conditions {
    /// Whether every condition holds for `subject`, or the first that does not. Conditions are checked in the
    /// order of [`Condition`]'s variants: item, category, source, guest tier, occupancy, the location's, window, day, shift.
    pub fn check(&self, subject: &Subject<'_>) -> Result<(), Condition> {
        let item = subject.item;
        let location = subject.location;
        let at = subject.at;
        need(any_of(&self.items, |c| *c == item.code), Condition::Item)?;
        need(any_of(&self.categories, |c| *c == item.category), Condition::Category)?;
        need(any_of(&self.sources, |s| *s == subject.source), Condition::Source)?;
        need(any_of(&self.guest_tiers, |t| *t == subject.guest_tier), Condition::GuestTier)?;
        need(any_of(&self.occupancy, |o| *o == subject.occupancy), Condition::Occupancy)?;
        need(at_location(&self.kinds, location, |l, k| l.kind == *k), Condition::Kind)?;
        need(at_location(&self.buildings, location, |l, b| l.building.as_ref() == Some(b)), Condition::Building)?;
        need(at_location(&self.wings, location, |l, w| l.wing.as_ref() == Some(w)), Condition::Wing)?;
        need(at_location(&self.floors, location, |l, f| l.floor == Some(*f)), Condition::Floor)?;
        need(at_location(&self.classes, location, |l, c| l.class == *c), Condition::Class)?;
        need(self.window.is_none_or(|w| w.contains(at.time())), Condition::Window)?;
        need(self.days.is_empty() || self.day(at).is_some_and(|d| self.days.contains(&d)), Condition::Day)?;
        let covers = |name: &String| subject.shifts.iter().any(|p| p.name == *name && p.covers(at));
        need(any_of(&self.shifts, covers), Condition::Shift)
    }

    /// The day `days` is checked against: the day the window began when there is a window, else the date's.
    fn day(&self, at: DateTime) -> Option<Weekday> {
        match self.window {
            Some(window) => window.started_on(at).map(|d| d.weekday()),
            None => Some(at.date().weekday()),
        }
    }
}

impl Miss {
    /// The reason in words, e.g. `floor 3 is not one of 7, 8`. `rules` and `subject` must be those routed.
    pub fn describe(&self, rules: &[Rule], subject: &Subject<'_>) -> String {
        let Some(rule) = rules.get(self.rule) else {
            return format!("rule #{} is not in this rule set", self.rule);
        };
        let when = &rule.when;
        let location = subject.location;
        let at = subject.at;
        match self.failed {
            Condition::Item => not_one_of("item", &subject.item.code, &when.items),
            Condition::Category => not_one_of("category", &subject.item.category, &when.categories),
            Condition::Source => not_one_of("source", subject.source.as_str(), &names(&when.sources, Source::as_str)),
            Condition::GuestTier => {
                not_one_of("guest tier", subject.guest_tier.as_str(), &names(&when.guest_tiers, GuestTier::as_str))
            }
            Condition::Occupancy => {
                not_one_of("occupancy", subject.occupancy.as_str(), &names(&when.occupancy, Occupancy::as_str))
            }
            Condition::Kind => {
                about_location("kind", location, |l| Some(kind_str(l.kind).into()), &names(&when.kinds, kind_str))
            }
            Condition::Building => about_location("building", location, |l| l.building.clone(), &when.buildings),
            Condition::Wing => about_location("wing", location, |l| l.wing.clone(), &when.wings),
            Condition::Floor => about_location(
                "floor",
                location,
                |l| l.floor.map(|f| f.to_string()),
                &names(&when.floors, |f| f.to_string()),
            ),
            Condition::Class => {
                about_location("class", location, |l| Some(class_str(l.class).into()), &names(&when.classes, class_str))
            }
            Condition::Window => match when.window {
                Some(window) => format!("{} is outside {window}", hhmm(at.time())),
                None => "the time is outside the rule's window".into(),
            },
            Condition::Day => {
                let wanted = names(&when.days, weekday_name);
                match (when.day(at), when.window) {
                    (Some(day), Some(window)) if day != at.date().weekday() => {
                        format!("{window} began on {}, which is not one of {}", weekday_name(day), List(&wanted))
                    }
                    (Some(day), _) => not_one_of("day", weekday_name(day), &wanted),
                    (None, _) => format!("the day is not one of {}", List(&wanted)),
                }
            }
            Condition::Shift => format!(
                "{} on {} is in none of the shifts {}",
                hhmm(at.time()),
                weekday_name(at.date().weekday()),
                List(&when.shifts)
            ),
        }
    }
}

impl Routing {
    /// The decision as the journal and the explain API show it:
    /// `{rule, department, priority, sla, skill, skipped: [{rule, reason}]}`.
    pub fn explain(&self, rules: &[Rule], subject: &Subject<'_>) -> serde_json::Value {
        let skipped: Vec<serde_json::Value> = self
            .skipped
            .iter()
            .map(|miss| {
                let name = rules.get(miss.rule).map(|r| r.name.as_str());
                serde_json::json!({ "rule": name, "reason": miss.describe(rules, subject) })
            })
            .collect();
        serde_json::json!({
            "rule": self.rule,
            "department": self.department,
            "priority": self.priority,
            "sla": self.sla,
            "skill": self.skill,
            "skipped": skipped,
        })
    }
}

/// The routing from `rule`'s outcome over `item`'s defaults (or the defaults alone).
fn decide(item: &CatalogItem, rule: Option<&Rule>, skipped: Vec<Miss>) -> Routing {
    let then = rule.map(|r| &r.then);
    let pick = |field: fn(&Outcome) -> Option<&String>, default: &Option<String>| {
        then.and_then(field).or(default.as_ref()).cloned()
    };
    Routing {
        department: then.and_then(|t| t.department.clone()).unwrap_or_else(|| item.department.clone()),
        priority: then.and_then(|t| t.priority).unwrap_or(item.priority),
        sla: pick(|t| t.sla.as_ref(), &item.sla),
        skill: pick(|t| t.skill.as_ref(), &item.skill),
        rule: rule.map(|r| r.name.clone()),
        skipped,
    }
}

/// `Ok` when `holds`, else the failed condition.
fn need(holds: bool, condition: Condition) -> Result<(), Condition> {
    if holds {
        Ok(())
    } else {
        Err(condition)
    }
}

/// Whether `list` is empty (any) or has an entry for which `hit` holds.
fn any_of<T>(list: &[T], hit: impl Fn(&T) -> bool) -> bool {
    list.is_empty() || list.iter().any(hit)
}

/// [`any_of`] for a location condition, which never holds without a location.
fn at_location<T>(list: &[T], location: Option<&Location>, hit: impl Fn(&Location, &T) -> bool) -> bool {
    list.is_empty() || location.is_some_and(|l| list.iter().any(|x| hit(l, x)))
}

fn not_one_of(what: &str, value: &str, wanted: &[String]) -> String {
    format!("{what} {value} is not one of {}", List(wanted))
}

fn about_location(
    what: &str,
    location: Option<&Location>,
    value: impl Fn(&Location) -> Option<String>,
    wanted: &[String],
) -> String {
    match location {
        None => format!("the location is not known, so its {what} is not one of {}", List(wanted)),
        Some(l) => match value(l) {
            Some(v) => not_one_of(what, &v, wanted),
            None => format!("location {} has no {what}; wanted one of {}", l.id, List(wanted)),
        },
    }
}

fn names<T: Copy, S: Into<String>>(list: &[T], name: impl Fn(T) -> S) -> Vec<String> {
    list.iter().map(|x| name(*x).into()).collect()
}

fn kind_str(kind: LocationKind) -> &'static str {
    match kind {
        LocationKind::Room => "room",
        LocationKind::Area => "area",
    }
}

fn class_str(class: LocationClass) -> &'static str {
    match class {
        LocationClass::Standard => "standard",
        LocationClass::Suite => "suite",
        LocationClass::Vip => "vip",
    }
}

/// A list written `a, b, c`.
struct List<'a>(&'a [String]);

impl Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, x) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(x)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn item() -> CatalogItem {
        CatalogItem {
            code: "hk.towels".into(),
            category: "housekeeping".into(),
            department: "housekeeping".into(),
            priority: Priority::Low,
            eta_min: Some(15),
            max_qty: 5,
            sla: Some("standard".into()),
            skill: None,
            emergency: false,
            guest: true,
            labels: Default::default(),
        }
    }

    fn room() -> Location {
        Location {
            id: "301".into(),
            kind: LocationKind::Room,
            building: Some("main".into()),
            wing: Some("east".into()),
            floor: Some(3),
            class: LocationClass::Standard,
        }
    }

    fn patterns() -> Vec<ShiftPattern> {
        let shift = |name: &str, window: &str| ShiftPattern {
            name: name.into(),
            days: vec![],
            window: Window::parse(window).unwrap(),
        };
        vec![shift("day", "07:00-15:00"), shift("late", "15:00-23:00"), shift("night", "23:00-07:00")]
    }

    /// 2025-06-06 is a Friday.
    fn friday(h: i8, m: i8) -> DateTime {
        date(2025, 6, 6).at(h, m, 0, 0)
    }

    fn subject<'a>(item: &'a CatalogItem, location: &'a Location, shifts: &'a [ShiftPattern]) -> Subject<'a> {
        Subject {
            item,
            location: Some(location),
            guest_tier: GuestTier::Standard,
            occupancy: Occupancy::Unknown,
            source: Source::Tv,
            at: friday(10, 0),
            shifts,
        }
    }

    fn rule(name: &str, when: Conditions, department: &str) -> Rule {
        Rule { name: name.into(), when, then: Outcome { department: Some(department.into()), ..Outcome::default() } }
    }

    fn window(text: &str) -> Option<Window> {
        Some(Window::parse(text).unwrap())
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// Routes `subject` through the single rule `when` and returns `Ok` when it matched, else the failed condition.
    fn one(when: Conditions, subject: &Subject<'_>) -> Result<(), Condition> {
        let routing = route(&[rule("r", when, "elsewhere")], subject);
        match routing.rule {
            Some(_) => {
                assert_eq!((routing.department.as_str(), routing.skipped.len()), ("elsewhere", 0));
                Ok(())
            }
            None => {
                assert_eq!(routing.department, "housekeeping");
                assert_eq!(routing.skipped.len(), 1);
                assert_eq!(routing.skipped[0].rule, 0);
                Err(routing.skipped[0].failed)
            }
        }
    }

    #[test]
    fn each_condition_matches_and_misses() {
        let (it, loc, shifts) = (item(), room(), patterns());
        let s = subject(&it, &loc, &shifts);
        let c = Conditions::default;
        let cases: Vec<(&str, Conditions, Result<(), Condition>)> = vec![
            ("nothing asked", c(), Ok(())),
            ("item", Conditions { items: strings(&["fb.menu", "hk.towels"]), ..c() }, Ok(())),
            ("item", Conditions { items: strings(&["fb.menu"]), ..c() }, Err(Condition::Item)),
            ("category", Conditions { categories: strings(&["housekeeping"]), ..c() }, Ok(())),
            ("category", Conditions { categories: strings(&["fb"]), ..c() }, Err(Condition::Category)),
            ("source", Conditions { sources: vec![Source::Kiosk, Source::Tv], ..c() }, Ok(())),
            ("source", Conditions { sources: vec![Source::Kiosk], ..c() }, Err(Condition::Source)),
            ("tier", Conditions { guest_tiers: vec![GuestTier::Standard], ..c() }, Ok(())),
            ("tier", Conditions { guest_tiers: vec![GuestTier::Vip], ..c() }, Err(Condition::GuestTier)),
            ("occupancy", Conditions { occupancy: vec![Occupancy::Unknown], ..c() }, Ok(())),
            ("occupancy", Conditions { occupancy: vec![Occupancy::DueOut], ..c() }, Err(Condition::Occupancy)),
            ("kind", Conditions { kinds: vec![LocationKind::Room], ..c() }, Ok(())),
            ("kind", Conditions { kinds: vec![LocationKind::Area], ..c() }, Err(Condition::Kind)),
            ("building", Conditions { buildings: strings(&["main"]), ..c() }, Ok(())),
            ("building", Conditions { buildings: strings(&["annex"]), ..c() }, Err(Condition::Building)),
            ("wing", Conditions { wings: strings(&["east"]), ..c() }, Ok(())),
            ("wing", Conditions { wings: strings(&["west"]), ..c() }, Err(Condition::Wing)),
            ("floor", Conditions { floors: vec![2, 3], ..c() }, Ok(())),
            ("floor", Conditions { floors: vec![7, 8], ..c() }, Err(Condition::Floor)),
            ("class", Conditions { classes: vec![LocationClass::Standard], ..c() }, Ok(())),
            ("class", Conditions { classes: vec![LocationClass::Suite], ..c() }, Err(Condition::Class)),
            ("window", Conditions { window: window("07:00-15:00"), ..c() }, Ok(())),
            ("window", Conditions { window: window("15:00-23:00"), ..c() }, Err(Condition::Window)),
            ("day", Conditions { days: vec![Weekday::Friday], ..c() }, Ok(())),
            ("day", Conditions { days: vec![Weekday::Saturday], ..c() }, Err(Condition::Day)),
            ("shift", Conditions { shifts: strings(&["night", "day"]), ..c() }, Ok(())),
            ("shift", Conditions { shifts: strings(&["late"]), ..c() }, Err(Condition::Shift)),
            ("unknown shift", Conditions { shifts: strings(&["swing"]), ..c() }, Err(Condition::Shift)),
            (
                "all together",
                Conditions {
                    items: strings(&["hk.towels"]),
                    categories: strings(&["housekeeping"]),
                    kinds: vec![LocationKind::Room],
                    buildings: strings(&["main"]),
                    wings: strings(&["east"]),
                    floors: vec![3],
                    classes: vec![LocationClass::Standard],
                    sources: vec![Source::Tv],
                    guest_tiers: vec![GuestTier::Standard],
                    occupancy: vec![Occupancy::Unknown],
                    days: vec![Weekday::Friday],
                    window: window("07:00-15:00"),
                    shifts: strings(&["day"]),
                },
                Ok(()),
            ),
            (
                "the first failure is reported",
                Conditions { floors: vec![7], sources: vec![Source::Kiosk], ..c() },
                Err(Condition::Source),
            ),
        ];
        for (name, when, want) in cases {
            assert_eq!(one(when, &s), want, "{name}");
        }
    }

    #[test]
    fn location_conditions_never_match_without_a_location() {
        let (it, loc, shifts) = (item(), room(), patterns());
        let s = Subject { location: None, ..subject(&it, &loc, &shifts) };
        let c = Conditions::default;
        let cases = [
            (Conditions { kinds: vec![LocationKind::Room], ..c() }, Condition::Kind),
            (Conditions { buildings: strings(&["main"]), ..c() }, Condition::Building),
            (Conditions { wings: strings(&["east"]), ..c() }, Condition::Wing),
            (Conditions { floors: vec![3], ..c() }, Condition::Floor),
            (Conditions { classes: vec![LocationClass::Standard], ..c() }, Condition::Class),
        ];
        for (when, want) in cases {
            assert_eq!(one(when, &s), Err(want));
        }
        assert_eq!(one(Conditions { items: strings(&["hk.towels"]), ..c() }, &s), Ok(()));
        // A location without a building or floor does not match those conditions either.
        let bare = Location { building: None, floor: None, ..room() };
        let s = subject(&it, &bare, &shifts);
        assert_eq!(one(Conditions { buildings: strings(&["main"]), ..c() }, &s), Err(Condition::Building));
        assert_eq!(one(Conditions { floors: vec![3], ..c() }, &s), Err(Condition::Floor));
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let (it, loc, shifts) = (item(), room(), patterns());
        let s = subject(&it, &loc, &shifts);
        let rules = [
            rule("kiosk", Conditions { sources: vec![Source::Kiosk], ..Conditions::default() }, "front_desk"),
            rule("housekeeping", Conditions { categories: strings(&["housekeeping"]), ..Conditions::default() }, "hk"),
            rule(
                "towels on 3",
                Conditions { items: strings(&["hk.towels"]), floors: vec![3], ..Conditions::default() },
                "hk_floor_3",
            ),
        ];
        let routing = route(&rules, &s);
        assert_eq!((routing.rule.as_deref(), routing.department.as_str()), (Some("housekeeping"), "hk"));
        assert_eq!(routing.skipped, [Miss { rule: 0, failed: Condition::Source }]);
        let routing = route(&rules[2..], &s);
        assert_eq!(routing.department, "hk_floor_3", "the specific rule matches when it comes first");
    }

    #[test]
    fn unset_fields_fall_back_to_the_catalog() {
        let (it, loc, shifts) = (item(), room(), patterns());
        let s = subject(&it, &loc, &shifts);
        let none = route(&[], &s);
        assert_eq!(
            none,
            Routing {
                department: "housekeeping".into(),
                priority: Priority::Low,
                sla: Some("standard".into()),
                skill: None,
                rule: None,
                skipped: vec![],
            }
        );
        let vip = Rule {
            name: "vip".into(),
            when: Conditions::default(),
            then: Outcome { priority: Some(Priority::High), skill: Some("butler".into()), ..Outcome::default() },
        };
        let routing = route(&[vip], &s);
        assert_eq!(
            (routing.department.as_str(), routing.priority, routing.sla.as_deref(), routing.skill.as_deref()),
            ("housekeeping", Priority::High, Some("standard"), Some("butler"))
        );
        let sla = Rule {
            name: "sla".into(),
            when: Conditions::default(),
            then: Outcome { sla: Some("vip".into()), ..Outcome::default() },
        };
        assert_eq!(route(&[sla], &s).sla.as_deref(), Some("vip"));
        let missed = route(&[rule("no", Conditions { floors: vec![9], ..Conditions::default() }, "x")], &s);
        assert_eq!((missed.rule, missed.department.as_str()), (None, "housekeeping"));
    }

    #[test]
    fn windows_crossing_midnight() {
        let (it, loc, shifts) = (item(), room(), patterns());
        let night = Conditions { window: window("23:00-07:00"), ..Conditions::default() };
        let cases =
            [((23, 30), true), ((3, 0), true), ((6, 59), true), ((7, 0), false), ((12, 0), false), ((22, 59), false)];
        for ((h, m), want) in cases {
            let s = Subject { at: friday(h, m), ..subject(&it, &loc, &shifts) };
            assert_eq!(one(night.clone(), &s).is_ok(), want, "{h:02}:{m:02}");
        }
    }

    #[test]
    fn days_with_an_overnight_window_mean_the_night_it_began() {
        let (it, loc, shifts) = (item(), room(), patterns());
        let friday_night =
            Conditions { days: vec![Weekday::Friday], window: window("22:00-06:00"), ..Conditions::default() };
        let cases = [
            (date(2025, 6, 7).at(2, 0, 0, 0), Ok(()), "Saturday 02:00 is Friday night"),
            (friday(23, 0), Ok(()), "Friday 23:00"),
            (friday(2, 0), Err(Condition::Day), "Friday 02:00 is Thursday night"),
            (friday(12, 0), Err(Condition::Window), "Friday noon"),
            (date(2025, 6, 7).at(23, 0, 0, 0), Err(Condition::Day), "Saturday 23:00"),
        ];
        for (at, want, name) in cases {
            let s = Subject { at, ..subject(&it, &loc, &shifts) };
            assert_eq!(one(friday_night.clone(), &s), want, "{name}");
        }
    }

    #[test]
    fn shift_conditions_follow_the_property_patterns() {
        let (it, loc) = (item(), room());
        let weekend_night = vec![ShiftPattern {
            name: "weekend night".into(),
            days: vec![Weekday::Friday, Weekday::Saturday],
            window: Window::parse("20:00-04:00").unwrap(),
        }];
        let when = Conditions { shifts: strings(&["weekend night"]), ..Conditions::default() };
        let cases = [
            (friday(21, 0), true),
            (date(2025, 6, 7).at(3, 59, 0, 0), true),
            (date(2025, 6, 8).at(3, 0, 0, 0), true),
            (date(2025, 6, 8).at(21, 0, 0, 0), false),
            (friday(3, 0), false),
        ];
        for (at, want) in cases {
            let s = Subject { at, ..subject(&it, &loc, &weekend_night) };
            assert_eq!(one(when.clone(), &s).is_ok(), want, "{at}");
        }
    }

    #[test]
    fn local_times_a_dst_change_skips_never_match() {
        use jiff::{tz::TimeZone, Timestamp, ToSpan};
        let (it, loc, shifts) = (item(), room(), patterns());
        let lisbon = TimeZone::get("Europe/Lisbon").unwrap();
        let rules = [rule("small hours", Conditions { window: window("00:30-01:30"), ..Conditions::default() }, "x")];
        // Matched instants, every minute of the 24 hours from noon UTC the day before.
        let matched = |noon_before: &str| -> Vec<String> {
            let start: Timestamp = format!("{noon_before}T12:00:00Z").parse().unwrap();
            (0..24 * 60)
                .map(|m| start.checked_add(m.minutes()).unwrap())
                .filter(|t| {
                    let s = Subject { at: t.to_zoned(lisbon.clone()).datetime(), ..subject(&it, &loc, &shifts) };
                    route(&rules, &s).rule.is_some()
                })
                .map(|t| t.to_string())
                .collect()
        };
        let ordinary = matched("2025-03-28");
        assert_eq!((ordinary.len(), ordinary[0].as_str()), (60, "2025-03-29T00:30:00Z"));
        // Lisbon springs forward at 01:00 local to 02:00: local 01:00-01:30 does not occur, so only 30 minutes match.
        let spring = matched("2025-03-29");
        assert_eq!(
            (spring.len(), spring[0].as_str(), spring[29].as_str()),
            (30, "2025-03-30T00:30:00Z", "2025-03-30T00:59:00Z")
        );
        // Lisbon falls back at 02:00 local to 01:00: local 01:00-01:30 occurs twice, an hour apart.
        let autumn = matched("2025-10-25");
        assert_eq!(
            (autumn.len(), autumn[0].as_str(), autumn[89].as_str()),
            (90, "2025-10-25T23:30:00Z", "2025-10-26T01:29:00Z")
        );
    }

    #[test]
    fn misses_in_words() {
        let (it, loc, shifts) = (item(), room(), patterns());
        let s = Subject { at: friday(22, 15), ..subject(&it, &loc, &shifts) };
        let c = Conditions::default;
        let cases: Vec<(Conditions, &str)> = vec![
            (
                Conditions { items: strings(&["fb.menu", "hk.pillow"]), ..c() },
                "item hk.towels is not one of fb.menu, hk.pillow",
            ),
            (Conditions { categories: strings(&["fb"]), ..c() }, "category housekeeping is not one of fb"),
            (Conditions { sources: vec![Source::Kiosk], ..c() }, "source tv is not one of kiosk"),
            (
                Conditions { guest_tiers: vec![GuestTier::Vip, GuestTier::LongStay], ..c() },
                "guest tier standard is not one of vip, long_stay",
            ),
            (Conditions { kinds: vec![LocationKind::Area], ..c() }, "kind room is not one of area"),
            (Conditions { buildings: strings(&["annex"]), ..c() }, "building main is not one of annex"),
            (Conditions { wings: strings(&["west"]), ..c() }, "wing east is not one of west"),
            (Conditions { floors: vec![7, 8], ..c() }, "floor 3 is not one of 7, 8"),
            (
                Conditions { classes: vec![LocationClass::Suite, LocationClass::Vip], ..c() },
                "class standard is not one of suite, vip",
            ),
            (Conditions { window: window("07:00-15:00"), ..c() }, "22:15 is outside 07:00-15:00"),
            (
                Conditions { window: window("06:00-24:00"), days: vec![Weekday::Monday], ..c() },
                "day Friday is not one of Monday",
            ),
            (
                Conditions { shifts: strings(&["day", "night"]), ..c() },
                "22:15 on Friday is in none of the shifts day, night",
            ),
        ];
        for (when, want) in cases {
            let rules = [rule("r", when, "x")];
            let routing = route(&rules, &s);
            assert_eq!(routing.skipped.len(), 1, "{want}");
            assert_eq!(routing.skipped[0].describe(&rules, &s), want);
        }

        let saturday = Subject { at: date(2025, 6, 7).at(2, 0, 0, 0), ..s };
        let rules = [rule(
            "thursday night",
            Conditions { days: vec![Weekday::Thursday], window: window("22:00-06:00"), ..c() },
            "x",
        )];
        let miss = route(&rules, &saturday).skipped[0];
        assert_eq!(miss.describe(&rules, &saturday), "22:00-06:00 began on Friday, which is not one of Thursday");

        let nowhere = Subject { location: None, ..s };
        let rules = [rule("upper floors", Conditions { floors: vec![7, 8], ..c() }, "x")];
        let miss = route(&rules, &nowhere).skipped[0];
        assert_eq!(miss.describe(&rules, &nowhere), "the location is not known, so its floor is not one of 7, 8");
        let bare = Location { floor: None, ..room() };
        let s = Subject { location: Some(&bare), ..s };
        assert_eq!(route(&rules, &s).skipped[0].describe(&rules, &s), "location 301 has no floor; wanted one of 7, 8");
        assert_eq!(miss.describe(&[], &s), "rule #0 is not in this rule set");
    }

    #[test]
    fn the_explanation_names_rules_and_reasons() {
        let (it, loc, shifts) = (item(), room(), patterns());
        let s = subject(&it, &loc, &shifts);
        let rules = [
            rule("upper floors", Conditions { floors: vec![7, 8], ..Conditions::default() }, "hk_upper"),
            rule("kiosks", Conditions { sources: vec![Source::Kiosk], ..Conditions::default() }, "front_desk"),
            Rule {
                name: "daytime".into(),
                when: Conditions { window: window("07:00-15:00"), ..Conditions::default() },
                then: Outcome { priority: Some(Priority::Medium), ..Outcome::default() },
            },
        ];
        let routing = route(&rules, &s);
        assert_eq!(
            routing.explain(&rules, &s),
            serde_json::json!({
                "rule": "daytime",
                "department": "housekeeping",
                "priority": "medium",
                "sla": "standard",
                "skill": null,
                "skipped": [
                    { "rule": "upper floors", "reason": "floor 3 is not one of 7, 8" },
                    { "rule": "kiosks", "reason": "source tv is not one of kiosk" },
                ],
            })
        );
        assert_eq!(
            serde_json::to_value(routing.skipped[0]).unwrap(),
            serde_json::json!({ "rule": 0, "failed": "floor" })
        );
    }

    #[test]
    fn guest_tiers_spell_and_parse() {
        for tier in GuestTier::ALL {
            assert_eq!(GuestTier::parse(tier.as_str()), Some(tier));
            assert_eq!(serde_json::to_value(tier).unwrap(), tier.as_str());
        }
        assert_eq!(GuestTier::parse("gold"), None);
        assert_eq!(GuestTier::default(), GuestTier::Standard);
    }
}
