//! The ticket life cycle: which action is legal from which status, and where it leads. Pure.

use crate::vocab::{Action, Status};

/// An action that the ticket's current status does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a ticket that is {from}", action = .action.as_str(), from = .from.as_str())]
pub struct IllegalTransition {
    /// The status the ticket is in.
    pub from: Status,
    /// The action that was asked for.
    pub action: Action,
}

/// The status `action` leads to from `from`, or why it is not allowed.
pub fn transition(from: Status, action: Action) -> Result<Status, IllegalTransition> {
    use Status::*;
    let to = match (action, from) {
        (Action::Acknowledge, New | Assigned | Reopened) => Acknowledged,
        (Action::Start, New | Assigned | Acknowledged | Reopened) => InProgress,
        (Action::Hold, New | Assigned | Acknowledged | InProgress | Reopened) => OnHold,
        (Action::Resume, OnHold) => InProgress,
        (Action::Resolve, New | Assigned | Acknowledged | InProgress | OnHold | Reopened) => Resolved,
        (Action::Close, Resolved) => Closed,
        (Action::Reopen, Resolved | Closed) => Reopened,
        (Action::Cancel, New | Assigned | Acknowledged | InProgress | OnHold | Reopened) => Cancelled,
        _ => return Err(IllegalTransition { from, action }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_paths() {
        let cases = [
            (Status::New, Action::Acknowledge, Status::Acknowledged),
            (Status::Acknowledged, Action::Start, Status::InProgress),
            (Status::InProgress, Action::Hold, Status::OnHold),
            (Status::OnHold, Action::Resume, Status::InProgress),
            (Status::OnHold, Action::Resolve, Status::Resolved),
            (Status::Resolved, Action::Close, Status::Closed),
            (Status::Closed, Action::Reopen, Status::Reopened),
            (Status::Reopened, Action::Acknowledge, Status::Acknowledged),
            (Status::New, Action::Cancel, Status::Cancelled),
        ];
        for (from, action, to) in cases {
            assert_eq!(transition(from, action), Ok(to), "{from:?} --{action:?}-->");
        }
    }

    #[test]
    fn illegal_paths() {
        let cases = [
            (Status::Resolved, Action::Acknowledge),
            (Status::Closed, Action::Resolve),
            (Status::Cancelled, Action::Reopen),
            (Status::New, Action::Resume),
            (Status::New, Action::Close),
            (Status::Cancelled, Action::Cancel),
        ];
        for (from, action) in cases {
            let err = transition(from, action).unwrap_err();
            assert_eq!(err, IllegalTransition { from, action });
        }
        assert_eq!(
            transition(Status::Closed, Action::Resolve).unwrap_err().to_string(),
            "cannot resolve a ticket that is closed"
        );
    }

    #[test]
    fn closed_states_accept_only_reopen() {
        for action in Action::ALL {
            let ok = transition(Status::Closed, action).is_ok();
            assert_eq!(ok, action == Action::Reopen, "{action:?}");
            assert!(transition(Status::Cancelled, action).is_err());
        }
    }
}
