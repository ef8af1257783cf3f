//! The roster: shift patterns, staff with their roles, departments, skills and schedules, and outside contacts.

use std::collections::{BTreeMap, BTreeSet};

use super::errors::{ConfigError, SourceMap};
use super::raw::{RawContact, RawShift, RawStaff};
use crate::engine::shifts::{parse_weekday, Schedule, ShiftPattern, Window};
use crate::vocab::Role;

/// One member of staff.
#[derive(Clone, Debug)]
pub struct StaffMember {
    /// Their id (used in API paths and the notification topic).
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// The departments they work for (an admin needs none).
    pub departments: Vec<String>,
    /// Their skills.
    pub skills: Vec<String>,
    /// The most open tickets they are given automatically.
    pub max_open: u32,
    /// The language they read (a BCP 47 tag such as `en` or `pt-PT`), for the apps and notices; `en` when not set.
    pub language: String,
    /// When they are scheduled to work.
    pub schedule: Schedule,
}

/// Someone outside the roster that escalation can notify (the security desk, the general manager's phone).
#[derive(Clone, Debug)]
pub struct Contact {
    /// Its id (used in the notification topic).
    pub id: String,
    /// Its name.
    pub name: String,
}

/// The roster as validated.
#[derive(Clone, Debug, Default)]
pub struct People {
    /// The property's named shifts, in file order.
    pub shifts: Vec<ShiftPattern>,
    /// Staff by id.
    pub staff: BTreeMap<String, StaffMember>,
    /// Outside contacts by id.
    pub contacts: BTreeMap<String, Contact>,
}

fn check_id(map: &SourceMap<'_>, errors: &mut Vec<ConfigError>, key: &str, value: &str) {
    if let Err(e) = tv_protocol::validate_id(value) {
        errors.push(map.at(key, format!("{value:?} {e}")));
    }
}

/// Parses a list of weekday names.
pub(super) fn weekdays(
    map: &SourceMap<'_>,
    errors: &mut Vec<ConfigError>,
    key: &str,
    days: &[String],
) -> Vec<jiff::civil::Weekday> {
    days.iter()
        .filter_map(|day| {
            let parsed = parse_weekday(day);
            if parsed.is_none() {
                errors.push(map.at(key, format!("{day:?} is not a weekday such as \"mon\"")));
            }
            parsed
        })
        .collect()
}

/// Validates `[[shifts]]`, `[[staff]]` and `[[contacts]]` against the departments.
pub(super) fn validate(
    shifts: Vec<RawShift>,
    staff: Vec<RawStaff>,
    contacts: Vec<RawContact>,
    departments: &BTreeSet<String>,
    map: &SourceMap<'_>,
    errors: &mut Vec<ConfigError>,
) -> People {
    let mut people = People::default();
    for (i, shift) in shifts.into_iter().enumerate() {
        check_id(map, errors, &format!("shifts[{i}].name"), &shift.name);
        if people.shifts.iter().any(|s| s.name == shift.name) {
            errors.push(map.at(&format!("shifts[{i}].name"), format!("shift {:?} is defined twice", shift.name)));
        }
        let days = weekdays(map, errors, &format!("shifts[{i}].days"), &shift.days);
        match Window::parse(&shift.hours) {
            Ok(window) => people.shifts.push(ShiftPattern { name: shift.name, days, window }),
            Err(e) => errors.push(map.at(&format!("shifts[{i}].hours"), e)),
        }
    }
    for (i, contact) in contacts.into_iter().enumerate() {
        check_id(map, errors, &format!("contacts[{i}].id"), &contact.id);
        let id = contact.id.clone();
        if people.contacts.insert(id.clone(), Contact { id: contact.id, name: contact.name }).is_some() {
            errors.push(map.at(&format!("contacts[{i}].id"), format!("contact {id:?} is defined twice")));
        }
    }
    for (i, member) in staff.into_iter().enumerate() {
        let key = |field: &str| format!("staff[{i}].{field}");
        check_id(map, errors, &key("id"), &member.id);
        if people.contacts.contains_key(&member.id) {
            errors.push(map.at(&key("id"), format!("{:?} is also a contact's id; ids must be unique", member.id)));
        }
        let role = Role::parse(&member.role).unwrap_or_else(|| {
            errors.push(map.at(
                &key("role"),
                format!("{:?} is not staff, supervisor, manager, admin, analytics or installer", member.role),
            ));
            Role::Staff
        });
        for department in &member.departments {
            if !departments.contains(department) {
                errors.push(map.at(&key("departments"), format!("no [[departments]] entry has code {department:?}")));
            }
        }
        if member.departments.is_empty() && matches!(role, Role::Staff | Role::Supervisor | Role::Manager) {
            errors.push(map.at(
                &key("departments"),
                "name at least one department (only an admin, analytics or installer may have none)",
            ));
        }
        if member.max_open == 0 {
            errors.push(map.at(&key("max_open"), "must be at least 1"));
        }
        let mut patterns = Vec::new();
        for name in &member.shifts {
            match people.shifts.iter().find(|s| &s.name == name) {
                Some(shift) => patterns.push(shift.clone()),
                None => errors.push(map.at(&key("shifts"), format!("no [[shifts]] entry is named {name:?}"))),
            }
        }
        let mut exceptions = BTreeMap::new();
        for (j, exception) in member.exceptions.iter().enumerate() {
            let at = format!("staff[{i}].exceptions[{j}]");
            let Ok(date) = exception.date.parse::<jiff::civil::Date>() else {
                errors.push(map.at(&at, format!("{:?} is not a date such as 2026-12-25", exception.date)));
                continue;
            };
            let hours = match (&exception.hours, exception.off) {
                (Some(hours), false) => match Window::parse(hours) {
                    Ok(window) => Some(window),
                    Err(e) => {
                        errors.push(map.at(&at, e));
                        continue;
                    }
                },
                (None, true) => None,
                _ => {
                    errors.push(map.at(&at, "give either hours = \"HH:MM-HH:MM\" or off = true"));
                    continue;
                }
            };
            if exceptions.insert(date, hours).is_some() {
                errors.push(map.at(&at, format!("{date} has two exceptions")));
            }
        }
        let id = member.id.clone();
        let parsed = StaffMember {
            id: member.id,
            name: member.name,
            role,
            departments: member.departments,
            skills: member.skills,
            max_open: member.max_open,
            language: member.language.unwrap_or_else(|| "en".into()),
            schedule: Schedule { patterns, exceptions },
        };
        if people.staff.insert(id.clone(), parsed).is_some() {
            errors.push(map.at(&key("id"), format!("staff member {id:?} is defined twice")));
        }
    }
    people
}
