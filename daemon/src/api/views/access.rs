//! Signing in, enrolment, sessions, people's accounts and tokens: the request bodies and the answers. No answer
//! ever carries a password or a hash; a code or a token secret appears once, in the answer that creates it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/auth/sign-in`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    /// The staff id.
    pub user: String,
    /// The password.
    pub password: String,
    /// The 6-digit code from the authenticator app, or a recovery code; required when the role or the account has a
    /// second factor.
    pub code: Option<String>,
}

/// `POST /api/v1/auth/enrolment`: see what the enrolment code offers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentBody {
    /// The staff id.
    pub user: String,
    /// The one-time enrolment code from an admin.
    pub code: String,
}

/// `POST /api/v1/auth/enrol`: set the password (and the second factor) with the enrolment code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    /// The staff id.
    pub user: String,
    /// The one-time enrolment code.
    pub code: String,
    /// The new password: at least 12 characters, not containing the user name, not a common password.
    pub password: String,
    /// A current code from the authenticator app after scanning the QR code; required when the role needs a
    /// second factor.
    pub totp: Option<String>,
}

/// What an enrolment code offers: the second factor to scan.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentView {
    /// The staff id.
    pub user: String,
    /// Their name.
    pub name: String,
    /// Whether their role requires the second factor.
    pub totp_required: bool,
    /// The secret in base32, for typing into an app by hand.
    pub totp_secret: String,
    /// The `otpauth://` URI.
    pub totp_uri: String,
    /// The QR code of the URI, as SVG, drawn by the gateway.
    pub totp_qr_svg: String,
}

/// After enrolment: the recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolledView {
    /// The staff id.
    pub user: String,
    /// Whether a second factor was enrolled.
    pub totp: bool,
    /// One-time recovery codes for a lost phone (empty without a second factor). Keep them on paper.
    pub recovery_codes: Vec<String>,
}

/// Who is signed in (or holds the token).
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// The journal actor: `staff:{id}`, `integration:{name}` or `token:{id}`.
    pub actor: String,
    /// The staff id, for a person.
    pub user: Option<String>,
    /// Their name, for a person.
    pub name: Option<String>,
    /// The role in force.
    pub role: String,
    /// The departments they may act in; null: the whole property.
    pub departments: Option<Vec<String>>,
    /// Their language, for a person.
    pub language: Option<String>,
    /// The session, when signed in.
    pub session: Option<String>,
}

/// A session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// The session's public id.
    pub id: String,
    /// The staff id.
    pub user: String,
    /// The role it was opened with.
    pub role: String,
    /// The address it was opened from.
    pub address: String,
    /// When it was opened (UTC).
    pub created_at: String,
    /// When it was last used, to the minute (UTC).
    pub last_seen_at: String,
    /// When it ends whatever its use (UTC).
    pub expires_at: String,
    /// Whether this is the caller's own session.
    pub current: bool,
}

/// Sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// Oldest first.
    pub sessions: Vec<SessionView>,
}

/// How many sessions ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndedView {
    /// Sessions ended.
    pub ended: u32,
}

/// A person's account as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The staff id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: String,
    /// Their departments.
    pub departments: Vec<String>,
    /// Their language.
    pub language: String,
    /// `none`, `enrolling`, `enrolled` or `disabled`.
    pub state: String,
    /// Whether a second factor is enrolled.
    pub totp: bool,
    /// Whether their role requires one.
    pub totp_required: bool,
    /// Recovery codes left.
    pub recovery_codes_left: u32,
    /// Open sessions.
    pub sessions: u32,
}

/// Everyone on the roster with their account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    /// Sorted by id.
    pub users: Vec<UserView>,
}

/// `POST /api/v1/users/{id}/enrolment`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueEnrolmentBody {
    /// Clear the password, second factor and sessions first (a lost phone, a forgotten password).
    #[serde(default)]
    pub reset: bool,
}

/// A one-time enrolment code, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentCodeView {
    /// The staff id.
    pub user: String,
    /// The code, to hand over in person.
    pub code: String,
    /// When it expires (UTC).
    pub expires_at: String,
}

/// A lock on signing in.
#[derive(Debug, Serialize, ToSchema)]
pub struct LockView {
    /// `account` or `address`.
    pub scope: String,
    /// The user name or the address.
    pub key: String,
    /// Failures counted.
    pub failures: u32,
    /// Seconds until it lifts.
    pub remaining_s: u64,
}

/// Locks in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct LockList {
    /// Longest first.
    pub locks: Vec<LockView>,
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    /// Its role.
    pub role: String,
    /// Its name.
    pub name: String,
    /// `staff:{id}` or `integration:{name}`.
    pub owner: String,
    /// The one department it may act in.
    pub department: Option<String>,
    /// Days until it stops working; never when absent.
    pub expires_in_days: Option<u32>,
}

/// A token (never its secret, except in [`NewTokenView`]).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Public id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: String,
    /// Its owner.
    pub owner: Option<String>,
    /// Its department scope.
    pub department: Option<String>,
    /// When it was issued (UTC).
    pub created_at: String,
    /// When it stops working (UTC).
    pub expires_at: Option<String>,
    /// When it was revoked (UTC).
    pub revoked_at: Option<String>,
}

/// Every token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    /// Oldest first.
    pub tokens: Vec<TokenView>,
}

/// A new token with its secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenView {
    /// Public id.
    pub id: String,
    /// The secret: `Authorization: Bearer <secret>`. Not shown again.
    pub secret: String,
}
