//! Routing rules, SLA policies with their escalation ladders, and department calendars, validated together.

use std::collections::{BTreeMap, BTreeSet};

use super::errors::{ConfigError, SourceMap};
use super::people::{weekdays, People};
use super::raw::{RawDepartment, RawEscalation, RawRule, RawSla};
use crate::engine::calendar::{parse_openings, Calendar};
use crate::engine::routing::{Conditions, Outcome, Rule};
use crate::engine::shifts::{ShiftPattern, Window};
use crate::engine::sla::{Anchor, LevelSpec, Policy, Until};
use crate::vocab::{CatalogItem, GuestTier, LocationClass, Occupancy, Priority, Role, Source};

/// Who an escalation level notifies.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum LevelTarget {
    /// Everyone with this role in the ticket's department who is on shift (`staff` is the assignee, or the
    /// department's staff on duty when nobody has the ticket; `admin` is property-wide).
    Role(Role),
    /// One member of staff.
    Person(String),
    /// An outside contact.
    Contact(String),
}

impl LevelTarget {
    /// The spelling in files and the journal: `supervisor`, `staff:maria`, `contact:security`.
    pub fn describe(&self) -> String {
        match self {
            LevelTarget::Role(role) => role.as_str().to_owned(),
            LevelTarget::Person(id) => format!("staff:{id}"),
            LevelTarget::Contact(id) => format!("contact:{id}"),
        }
    }
}

/// Which tickets an SLA policy is for; an empty list matches anything.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Selectors {
    /// Priorities.
    pub priorities: Vec<Priority>,
    /// Catalog categories.
    pub categories: Vec<String>,
    /// Departments.
    pub departments: Vec<String>,
    /// Guest tiers.
    pub guest_tiers: Vec<GuestTier>,
    /// Room occupancy. Left out of the settings' fingerprint when empty, so policies written before occupancy
    /// existed keep theirs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub occupancy: Vec<Occupancy>,
    /// Location classes.
    pub classes: Vec<LocationClass>,
    /// Sources.
    pub sources: Vec<Source>,
}

/// What is known about a ticket when its SLA policy is chosen.
#[derive(Clone, Copy, Debug)]
pub struct SlaFacts<'a> {
    /// Its priority after routing.
    pub priority: Priority,
    /// Its category.
    pub category: &'a str,
    /// Its department after routing.
    pub department: &'a str,
    /// The guest's tier at the location.
    pub guest_tier: GuestTier,
    /// The room's occupancy.
    pub occupancy: Occupancy,
    /// The location's class, when the location is listed.
    pub class: Option<LocationClass>,
    /// Where it came from.
    pub source: Source,
}

impl Selectors {
    fn matches(&self, facts: &SlaFacts<'_>) -> bool {
        fn any<T: PartialEq>(list: &[T], value: &T) -> bool {
            list.is_empty() || list.contains(value)
        }
        any(&self.priorities, &facts.priority)
            && (self.categories.is_empty() || self.categories.iter().any(|c| c == facts.category))
            && (self.departments.is_empty() || self.departments.iter().any(|d| d == facts.department))
            && any(&self.guest_tiers, &facts.guest_tier)
            && any(&self.occupancy, &facts.occupancy)
            && (self.classes.is_empty() || facts.class.is_some_and(|c| self.classes.contains(&c)))
            && any(&self.sources, &facts.source)
    }

    /// How many kinds of selector are given: the more, the more specific the policy.
    fn specificity(&self) -> usize {
        [
            self.priorities.is_empty(),
            self.categories.is_empty(),
            self.departments.is_empty(),
            self.guest_tiers.is_empty(),
            self.occupancy.is_empty(),
            self.classes.is_empty(),
            self.sources.is_empty(),
        ]
        .iter()
        .filter(|empty| !**empty)
        .count()
    }
}

/// An SLA policy: targets, the escalation ladder with its recipients, and which tickets it is for.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SlaPolicy {
    /// Its name.
    pub name: String,
    /// Targets and levels, as the SLA clock needs them.
    pub clock: Policy,
    /// The escalation policy's name, when it has one.
    pub escalation: Option<String>,
    /// Who each level notifies, by level index.
    pub targets: Vec<LevelTarget>,
    /// Which tickets it is for, when neither a routing rule nor the catalog names a policy.
    pub selectors: Selectors,
}

/// Rules, SLA policies and escalation ladders as validated.
#[derive(Clone, Debug, Default)]
pub struct Policies {
    /// The routing rules, in order.
    pub rules: Vec<Rule>,
    /// SLA policies by name, the built-in `default-{priority}` ones included.
    pub sla: BTreeMap<String, SlaPolicy>,
    /// Configured policies in file order (for precedence between equally specific ones).
    pub sla_order: Vec<String>,
}

impl Policies {
    /// The SLA policy for a ticket: the one named by its routing rule, else by its catalog item, else the most
    /// specific configured policy whose selectors match (the first in the file among equals), else
    /// `default-{priority}`.
    pub fn sla_for(&self, named: Option<&str>, facts: &SlaFacts<'_>) -> &SlaPolicy {
        if let Some(policy) = named.and_then(|name| self.sla.get(name)) {
            return policy;
        }
        let mut best: Option<&SlaPolicy> = None;
        for policy in self.sla_order.iter().filter_map(|name| self.sla.get(name)) {
            if policy.selectors.matches(facts)
                && best.is_none_or(|b| policy.selectors.specificity() > b.selectors.specificity())
            {
                best = Some(policy);
            }
        }
        best.unwrap_or_else(|| &self.sla[&default_name(facts.priority)])
    }
}

fn default_name(priority: Priority) -> String {
    format!("default-{}", priority.as_str())
}

/// Parses a duration such as `15m`, `1h 30m`, `90s` or `-5m`, in milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let duration: jiff::SignedDuration =
        text.trim().parse().map_err(|_| format!("{text:?} is not a duration such as \"15m\" or \"1h 30m\""))?;
    Ok(duration.as_millis() as i64)
}

const MINUTE: i64 = 60_000;

/// The field table of the product brief: response, resolution, and who hears of it when.
fn built_in(priority: Priority) -> SlaPolicy {
    let level = |anchor, delay_ms, until, role| (LevelSpec { anchor, delay_ms, until }, LevelTarget::Role(role));
    let (response, resolution, ladder) = match priority {
        Priority::Critical => (
            5,
            30,
            vec![
                level(Anchor::Created, 0, Until::Resolved, Role::Manager),
                level(Anchor::Resolution, 0, Until::Resolved, Role::Admin),
            ],
        ),
        Priority::High => (
            10,
            60,
            vec![
                level(Anchor::Created, 15 * MINUTE, Until::Acknowledged, Role::Supervisor),
                level(Anchor::Resolution, 0, Until::Resolved, Role::Manager),
            ],
        ),
        Priority::Medium => (
            15,
            120,
            vec![
                level(Anchor::Created, 30 * MINUTE, Until::Acknowledged, Role::Supervisor),
                level(Anchor::Resolution, 0, Until::Resolved, Role::Manager),
            ],
        ),
        Priority::Low => (30, 240, vec![level(Anchor::Created, 120 * MINUTE, Until::Resolved, Role::Manager)]),
    };
    let (levels, targets) = ladder.into_iter().unzip();
    SlaPolicy {
        name: default_name(priority),
        clock: Policy { response_ms: response * MINUTE, resolution_ms: resolution * MINUTE, yellow_pct: 75, levels },
        escalation: None,
        targets,
        selectors: Selectors::default(),
    }
}

/// A department's calendar from its `hours` and `holidays`, in the site's time zone (`None` when the site's zone is
/// invalid, which is reported on its own).
pub(super) fn calendar(
    department: &RawDepartment,
    index: usize,
    time_zone: Option<&jiff::tz::TimeZone>,
    map: &SourceMap<'_>,
    errors: &mut Vec<ConfigError>,
) -> Calendar {
    let Some(hours) = &department.hours else {
        if !department.holidays.is_empty() {
            errors.push(map.at(&format!("departments[{index}].holidays"), "holidays need hours to close"));
        }
        return Calendar::always();
    };
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut week: [Vec<crate::engine::calendar::Opening>; 7] = Default::default();
    for (day, text) in hours {
        let key = format!("departments[{index}].hours.{day}");
        let Some(position) = DAYS.iter().position(|d| d == day) else {
            errors.push(map.at(&key, format!("{day:?} is not one of {}", DAYS.join(", "))));
            continue;
        };
        match parse_openings(text) {
            Ok(openings) => week[position] = openings,
            Err(e) => errors.push(map.at(&key, e)),
        }
    }
    let mut holidays = BTreeSet::new();
    for (j, date) in department.holidays.iter().enumerate() {
        match date.parse::<jiff::civil::Date>() {
            Ok(date) => {
                holidays.insert(date);
            }
            Err(_) => errors.push(map.at(
                &format!("departments[{index}].holidays[{j}]"),
                format!("{date:?} is not a date such as 2026-12-25"),
            )),
        }
    }
    // Without a time zone the site has an error already, and the configuration is refused.
    let Some(tz) = time_zone else { return Calendar::always() };
    Calendar::new(tz.clone(), week, holidays).unwrap_or_else(|e| {
        errors.push(map.at(&format!("departments[{index}].hours"), e));
        Calendar::always()
    })
}

/// What policies are checked against.
pub(super) struct Known<'a> {
    pub departments: &'a BTreeSet<String>,
    pub catalog: &'a BTreeMap<String, CatalogItem>,
    /// Catalog codes in file order, to name `catalog[N]` in errors.
    pub catalog_order: &'a [String],
    pub people: &'a People,
}

/// Validates `[[rules]]`, `[[sla]]` and `[[escalations]]`.
pub(super) fn validate(
    rules: Vec<RawRule>,
    sla: Vec<RawSla>,
    escalations: Vec<RawEscalation>,
    known: &Known<'_>,
    map: &SourceMap<'_>,
    errors: &mut Vec<ConfigError>,
) -> Policies {
    let mut policies = Policies::default();
    for priority in Priority::ALL {
        policies.sla.insert(default_name(priority), built_in(priority));
    }
    let ladders = ladders(escalations, known, map, errors);
    let mut configured = BTreeSet::new();
    for (i, raw) in sla.into_iter().enumerate() {
        let key = |field: &str| format!("sla[{i}].{field}");
        if !configured.insert(raw.name.clone()) {
            errors.push(map.at(&key("name"), format!("SLA policy {:?} is defined twice", raw.name)));
        }
        let mut duration = |field: &str, text: &str| {
            parse_duration(text)
                .and_then(|ms| if ms > 0 { Ok(ms) } else { Err(format!("{text:?} must be longer than zero")) })
                .unwrap_or_else(|e| {
                    errors.push(map.at(&key(field), e));
                    MINUTE
                })
        };
        let response_ms = duration("response", &raw.response);
        let resolution_ms = duration("resolution", &raw.resolution);
        if response_ms > resolution_ms {
            errors.push(map.at(&key("response"), "the response target must not be longer than the resolution target"));
        }
        if !(1..=99).contains(&raw.yellow_at) {
            errors.push(map.at(&key("yellow_at"), "must be a percentage from 1 to 99"));
        }
        for department in &raw.departments {
            if !known.departments.contains(department) {
                errors.push(map.at(&key("departments"), format!("no [[departments]] entry has code {department:?}")));
            }
        }
        let (levels, targets) = match &raw.escalation {
            None => (Vec::new(), Vec::new()),
            Some(name) => match ladders.get(name) {
                Some(ladder) => ladder.clone(),
                None => {
                    errors.push(map.at(&key("escalation"), format!("no [[escalations]] entry is named {name:?}")));
                    (Vec::new(), Vec::new())
                }
            },
        };
        let clock = Policy { response_ms, resolution_ms, yellow_pct: raw.yellow_at, levels };
        if let Some(problem) = out_of_order(&clock) {
            errors.push(map.at(&key("escalation"), problem));
        }
        policies.sla_order.push(raw.name.clone());
        policies.sla.insert(
            raw.name.clone(),
            SlaPolicy {
                name: raw.name,
                clock,
                escalation: raw.escalation,
                targets,
                selectors: Selectors {
                    priorities: raw.priorities,
                    categories: raw.categories,
                    departments: raw.departments,
                    guest_tiers: raw.guest_tiers,
                    occupancy: raw.occupancy,
                    classes: raw.classes,
                    sources: raw.sources,
                },
            },
        );
    }
    for (index, code) in known.catalog_order.iter().enumerate() {
        if let Some(name) = known.catalog.get(code).and_then(|item| item.sla.as_ref()) {
            if !policies.sla.contains_key(name) {
                errors.push(map.at(&format!("catalog[{index}].sla"), format!("no [[sla]] policy is named {name:?}")));
            }
        }
    }
    for (i, raw) in rules.into_iter().enumerate() {
        if let Some(rule) = rule(i, raw, &policies, known, map, errors) {
            if policies.rules.iter().any(|r| r.name == rule.name) {
                errors.push(map.at(&format!("rules[{i}].name"), format!("rule {:?} is defined twice", rule.name)));
            }
            policies.rules.push(rule);
        }
    }
    policies
}

/// Levels must come in the order they fall due; says which does not.
fn out_of_order(policy: &Policy) -> Option<String> {
    let position = |level: &LevelSpec| {
        let base = match level.anchor {
            Anchor::Created => 0,
            Anchor::Response => policy.response_ms,
            Anchor::Resolution => policy.resolution_ms,
        };
        (base + level.delay_ms).max(0)
    };
    policy.levels.windows(2).enumerate().find_map(|(i, pair)| {
        (position(&pair[1]) < position(&pair[0])).then(|| {
            format!(
                "with these targets, level {} falls due before level {}; list levels in the order they fall due",
                i + 2,
                i + 1
            )
        })
    })
}

type Ladder = (Vec<LevelSpec>, Vec<LevelTarget>);

fn ladders(
    escalations: Vec<RawEscalation>,
    known: &Known<'_>,
    map: &SourceMap<'_>,
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<String, Ladder> {
    let mut ladders = BTreeMap::new();
    for (i, escalation) in escalations.into_iter().enumerate() {
        let mut ladder: Ladder = (Vec::new(), Vec::new());
        if escalation.levels.is_empty() {
            errors.push(map.at(&format!("escalations[{i}].levels"), "give at least one level"));
        }
        for (j, level) in escalation.levels.iter().enumerate() {
            let key = |field: &str| format!("escalations[{i}].levels[{j}].{field}");
            let delay_ms = parse_duration(&level.after).unwrap_or_else(|e| {
                errors.push(map.at(&key("after"), e));
                0
            });
            let anchor = match level.from.as_str() {
                "created" => Anchor::Created,
                "response" => Anchor::Response,
                "resolution" => Anchor::Resolution,
                other => {
                    errors.push(map.at(&key("from"), format!("{other:?} is not created, response or resolution")));
                    Anchor::Created
                }
            };
            if anchor == Anchor::Created && delay_ms < 0 {
                errors.push(map.at(&key("after"), "a level from creation cannot fall due before the ticket exists"));
            }
            let until = match level.until.as_deref() {
                None if anchor == Anchor::Resolution => Until::Resolved,
                None | Some("acknowledged") => Until::Acknowledged,
                Some("resolved") => Until::Resolved,
                Some(other) => {
                    errors.push(map.at(&key("until"), format!("{other:?} is not acknowledged or resolved")));
                    Until::Resolved
                }
            };
            let target = match level.to.split_once(':') {
                Some(("staff", id)) if known.people.staff.contains_key(id) => Some(LevelTarget::Person(id.into())),
                Some(("contact", id)) if known.people.contacts.contains_key(id) => {
                    Some(LevelTarget::Contact(id.into()))
                }
                None => Role::parse_ladder(&level.to).map(LevelTarget::Role),
                _ => None,
            };
            match target {
                Some(target) => {
                    ladder.0.push(LevelSpec { anchor, delay_ms, until });
                    ladder.1.push(target);
                }
                None => errors.push(map.at(
                    &key("to"),
                    format!(
                        "{:?} is not a role (staff, supervisor, manager, admin), staff:ID of a listed member of staff, or contact:ID of a listed contact",
                        level.to
                    ),
                )),
            }
        }
        if ladders.insert(escalation.name.clone(), ladder).is_some() {
            errors.push(
                map.at(&format!("escalations[{i}].name"), format!("escalation {:?} is defined twice", escalation.name)),
            );
        }
    }
    ladders
}

fn rule(
    i: usize,
    raw: RawRule,
    policies: &Policies,
    known: &Known<'_>,
    map: &SourceMap<'_>,
    errors: &mut Vec<ConfigError>,
) -> Option<Rule> {
    let before = errors.len();
    let key = |field: &str| format!("rules[{i}].{field}");
    for item in &raw.items {
        if !known.catalog.contains_key(item) {
            errors.push(map.at(&key("items"), format!("no [[catalog]] item has code {item:?}")));
        }
    }
    for category in &raw.categories {
        if !known.catalog.values().any(|item| &item.category == category) {
            errors.push(map.at(&key("categories"), format!("no [[catalog]] item has category {category:?}")));
        }
    }
    for shift in &raw.shifts {
        if !known.people.shifts.iter().any(|s: &ShiftPattern| &s.name == shift) {
            errors.push(map.at(&key("shifts"), format!("no [[shifts]] entry is named {shift:?}")));
        }
    }
    if let Some(department) = &raw.department {
        if !known.departments.contains(department) {
            errors.push(map.at(&key("department"), format!("no [[departments]] entry has code {department:?}")));
        }
    }
    if let Some(sla) = &raw.sla {
        if !policies.sla.contains_key(sla) {
            errors.push(map.at(&key("sla"), format!("no [[sla]] policy is named {sla:?}")));
        }
    }
    let days = weekdays(map, errors, &key("days"), &raw.days);
    let window = raw
        .hours
        .as_deref()
        .and_then(|hours| Window::parse(hours).map_err(|e| errors.push(map.at(&key("hours"), e))).ok());
    let then = Outcome { department: raw.department, priority: raw.priority, sla: raw.sla, skill: raw.skill };
    if then.department.is_none() && then.priority.is_none() && then.sla.is_none() && then.skill.is_none() {
        errors.push(map.at(&key("name"), "a rule must set at least one of department, priority, sla or skill"));
    }
    let when = Conditions {
        items: raw.items,
        categories: raw.categories,
        kinds: raw.kinds,
        buildings: raw.buildings,
        wings: raw.wings,
        floors: raw.floors,
        classes: raw.classes,
        sources: raw.sources,
        guest_tiers: raw.guest_tiers,
        occupancy: raw.occupancy,
        days,
        window,
        shifts: raw.shifts,
    };
    (errors.len() == before).then_some(Rule { name: raw.name, when, then })
}
