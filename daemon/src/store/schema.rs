//! Versioned schema migrations, applied in order and recorded in `PRAGMA user_version`.

use rusqlite::Connection;

/// Each entry moves the schema from version `index` to `index + 1`. Never edit a released entry: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the journal, the tickets projection, idempotency keys, counters and API tokens.
    r#"
    CREATE TABLE events (
        seq       INTEGER PRIMARY KEY,
        at        TEXT    NOT NULL,
        actor     TEXT    NOT NULL,
        kind      TEXT    NOT NULL,
        ticket    TEXT,
        payload   TEXT    NOT NULL,
        prev_hash BLOB    NOT NULL,
        hash      BLOB    NOT NULL
    );
    CREATE INDEX events_by_ticket ON events(ticket, seq) WHERE ticket IS NOT NULL;

    CREATE TABLE tickets (
        number      TEXT    PRIMARY KEY,
        item        TEXT    NOT NULL,
        category    TEXT    NOT NULL,
        location    TEXT    NOT NULL,
        department  TEXT    NOT NULL,
        priority    TEXT    NOT NULL,
        status      TEXT    NOT NULL,
        source      TEXT    NOT NULL,
        device      TEXT,
        request_id  TEXT,
        qty         INTEGER NOT NULL,
        note        TEXT,
        repeats     INTEGER NOT NULL DEFAULT 0,
        eta_s       INTEGER,
        created_at  TEXT    NOT NULL,
        updated_at  TEXT    NOT NULL,
        created_seq INTEGER NOT NULL,
        last_seq    INTEGER NOT NULL
    );
    CREATE INDEX tickets_open_by_location ON tickets(location, item)
        WHERE status NOT IN ('resolved', 'closed', 'cancelled');
    CREATE INDEX tickets_by_status ON tickets(status, created_seq);
    CREATE INDEX tickets_by_department ON tickets(department, created_seq);
    CREATE INDEX tickets_by_created ON tickets(created_seq);

    CREATE TABLE request_keys (
        device     TEXT NOT NULL,
        request_id TEXT NOT NULL,
        ticket     TEXT NOT NULL,
        PRIMARY KEY (device, request_id)
    ) WITHOUT ROWID;

    CREATE TABLE counters (
        name  TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE tokens (
        id         TEXT PRIMARY KEY,
        hash       BLOB NOT NULL UNIQUE,
        role       TEXT NOT NULL,
        label      TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    "#,
    // 2: room-controller alarm episodes with their tickets, and per-location flags such as do-not-disturb.
    r#"
    CREATE TABLE grms_episodes (
        controller TEXT NOT NULL,
        episode    TEXT NOT NULL,
        ticket     TEXT NOT NULL,
        PRIMARY KEY (controller, episode)
    ) WITHOUT ROWID;

    CREATE TABLE location_flags (
        location   TEXT    PRIMARY KEY,
        dnd        INTEGER NOT NULL,
        updated_at TEXT    NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 3: the devices projection.
    r#"
    CREATE TABLE devices (
        id             TEXT    PRIMARY KEY,
        kind           TEXT    NOT NULL,
        claim          TEXT,
        bound          TEXT,
        state          TEXT    NOT NULL,
        model          TEXT    NOT NULL,
        firmware       TEXT    NOT NULL,
        addresses      TEXT    NOT NULL,
        online         INTEGER NOT NULL,
        mdns           INTEGER NOT NULL,
        presence       INTEGER,
        offline_ticket TEXT,
        first_seen     TEXT    NOT NULL,
        last_seen      TEXT    NOT NULL,
        offline_since  TEXT
    ) WITHOUT ROWID;
    CREATE INDEX devices_by_location ON devices(bound);
    "#,
    // 4: where the journal starts after synced history was pruned: the last pruned event's sequence and hash.
    r#"
    CREATE TABLE journal_checkpoint (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        seq  INTEGER NOT NULL,
        hash BLOB    NOT NULL,
        at   TEXT    NOT NULL
    );
    "#,
    // 5: routing, assignment and SLA clocks on tickets; staff duty; guest tiers per location.
    r#"
    ALTER TABLE tickets ADD COLUMN assignee TEXT;
    ALTER TABLE tickets ADD COLUMN skill TEXT;
    ALTER TABLE tickets ADD COLUMN sla_policy TEXT;
    ALTER TABLE tickets ADD COLUMN sla_flag TEXT;
    ALTER TABLE tickets ADD COLUMN sla_response_due TEXT;
    ALTER TABLE tickets ADD COLUMN sla_resolution_due TEXT;
    ALTER TABLE tickets ADD COLUMN sla_paused INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tickets ADD COLUMN sla_state TEXT;
    ALTER TABLE tickets ADD COLUMN sla_due_ms INTEGER;
    CREATE INDEX tickets_open_by_assignee ON tickets(assignee)
        WHERE assignee IS NOT NULL AND status NOT IN ('resolved', 'closed', 'cancelled');
    CREATE INDEX tickets_queued ON tickets(department, created_seq)
        WHERE assignee IS NULL AND status NOT IN ('resolved', 'closed', 'cancelled');
    CREATE INDEX tickets_sla_due ON tickets(sla_due_ms) WHERE sla_due_ms IS NOT NULL;
    CREATE INDEX tickets_by_flag ON tickets(sla_flag, created_seq);

    CREATE TABLE staff_duty (
        staff         TEXT    PRIMARY KEY,
        duty          TEXT    NOT NULL,
        since         TEXT    NOT NULL,
        last_assigned INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;

    ALTER TABLE location_flags ADD COLUMN guest_tier TEXT NOT NULL DEFAULT 'standard';
    "#,
    // 6: the PMS link: each room's occupancy and stay, and guests' personal data in a table of its own, outside the
    // hashed journal, so that it can be pruned after check-out and erased on request.
    r#"
    CREATE TABLE rooms (
        location   TEXT PRIMARY KEY,
        occupancy  TEXT NOT NULL,
        guest      TEXT,
        language   TEXT,
        arrival    TEXT,
        departure  TEXT,
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE guests (
        reference      TEXT PRIMARY KEY,
        location       TEXT NOT NULL,
        reservation    TEXT,
        name           TEXT,
        first_name     TEXT,
        language       TEXT,
        vip            TEXT,
        arrival        TEXT,
        departure      TEXT,
        checked_in_at  TEXT NOT NULL,
        checked_out_at TEXT
    ) WITHOUT ROWID;
    CREATE INDEX guests_by_reservation ON guests(reservation) WHERE checked_out_at IS NULL;
    CREATE INDEX guests_checked_out ON guests(checked_out_at) WHERE checked_out_at IS NOT NULL;
    "#,
    // 7: the notice outbox (one row per notice, its delivery state) and monitoring alert episodes with their tickets.
    r#"
    CREATE TABLE notices (
        id         TEXT    PRIMARY KEY,
        ticket     TEXT,
        recipient  TEXT    NOT NULL,
        channel    TEXT    NOT NULL,
        reason     TEXT    NOT NULL,
        subject    TEXT    NOT NULL,
        text       TEXT    NOT NULL,
        facts      TEXT    NOT NULL,
        state      TEXT    NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        next_ms    INTEGER,
        queued_ms  INTEGER NOT NULL,
        queued_at  TEXT    NOT NULL,
        last_error TEXT,
        done_at    TEXT
    ) WITHOUT ROWID;
    CREATE INDEX notices_due ON notices(next_ms) WHERE state = 'queued';

    CREATE TABLE alert_episodes (
        source      TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        ticket      TEXT NOT NULL,
        starts_at   TEXT,
        PRIMARY KEY (source, fingerprint)
    ) WITHOUT ROWID;
    "#,
    // 8: people's credentials (password hash, TOTP secret, enrolment code), recovery codes, sessions, and tokens
    // owned by a person or an integration with a department scope and an expiry.
    r#"
    CREATE TABLE accounts (
        staff             TEXT    PRIMARY KEY,
        password          TEXT,
        totp_secret       BLOB,
        totp_last_step    INTEGER,
        enrolment_hash    BLOB,
        enrolment_totp    BLOB,
        enrolment_expires TEXT,
        disabled          INTEGER NOT NULL DEFAULT 0,
        updated_at        TEXT    NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE recovery_codes (
        staff TEXT NOT NULL,
        hash  BLOB NOT NULL,
        PRIMARY KEY (staff, hash)
    ) WITHOUT ROWID;

    CREATE TABLE sessions (
        id           TEXT    PRIMARY KEY,
        hash         BLOB    NOT NULL UNIQUE,
        staff        TEXT    NOT NULL,
        role         TEXT    NOT NULL,
        address      TEXT    NOT NULL,
        created_ms   INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        idle_ms      INTEGER NOT NULL,
        expires_ms   INTEGER NOT NULL
    );
    CREATE INDEX sessions_by_staff ON sessions(staff);

    ALTER TABLE tokens ADD COLUMN owner TEXT;
    ALTER TABLE tokens ADD COLUMN department TEXT;
    ALTER TABLE tokens ADD COLUMN expires_at TEXT;
    "#,
];

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the schema up to [`CURRENT_VERSION`], each step in its own transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), super::StoreError> {
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > CURRENT_VERSION {
        return Err(super::StoreError::TooNew { found: version, supported: CURRENT_VERSION });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
