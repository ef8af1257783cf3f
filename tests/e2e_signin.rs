//! End to end: people sign in as themselves. Enrolment with a one-time code, sign-in with and without a second
//! factor, a used code refused, idle expiry, signing out everywhere, a locked account, a revoked token refused at
//! once, the Origin check on cookie sessions, and one table of every endpoint × role × ownership case, all against
//! the real binary over real HTTP.

mod support;

use std::time::{Duration, Instant};

use bellhop::credentials::totp;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use support::*;

const ROSTER: &str = r#"
[signin]
lock_after = 3
lock_s = 600

[signin.roles.staff]
idle_s = 3
lifetime_s = 3600

[[staff]]
id = "ana"
name = "Ana Silva"
departments = ["housekeeping"]
language = "pt-PT"

[[staff]]
id = "bruno"
name = "Bruno Costa"
departments = ["housekeeping"]

[[staff]]
id = "eva"
name = "Eva Lima"
departments = ["engineering"]

[[staff]]
id = "sara"
name = "Sara Reis"
role = "supervisor"
departments = ["housekeeping"]

[[staff]]
id = "max"
name = "Max Rocha"
role = "manager"
departments = ["housekeeping"]

[[staff]]
id = "ada"
name = "Ada Nunes"
role = "admin"

[[staff]]
id = "nia"
name = "Nia Dias"
role = "analytics"

[[staff]]
id = "ian"
name = "Ian Melo"
role = "installer"
"#;

struct Rig {
    dir: tempfile::TempDir,
    _broker: LocalBroker,
    daemon: Daemon,
}

fn rig() -> Rig {
    let dir = scratch();
    let broker = LocalBroker::start(&dir.path().join("mosquitto")).expect("start mosquitto");
    let daemon = Daemon::start(dir.path(), &base_config(&dir.path().join("data"), broker.port, ROSTER));
    Rig { dir, _broker: broker, daemon }
}

/// How a request is authenticated.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    /// A session cookie, with or without a same-origin `Origin`.
    Cookie(&'a str, bool),
}

struct Answer {
    status: u16,
    body: Value,
    set_cookie: Option<String>,
    retry_after: Option<String>,
}

async fn call(addr: &str, method: &str, path: &str, auth: Auth<'_>, body: Option<Value>) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(conn);
    let mut req = hyper::Request::builder().method(method).uri(path).header("host", addr);
    match auth {
        Auth::None => {}
        Auth::Bearer(token) => req = req.header("authorization", format!("Bearer {token}")),
        Auth::Cookie(cookie, origin) => {
            req = req.header("cookie", cookie);
            if origin {
                req = req.header("origin", format!("http://{addr}"));
            }
        }
    }
    let bytes = match body {
        Some(body) => {
            req = req.header("content-type", "application/json");
            body.to_string().into_bytes()
        }
        None => Vec::new(),
    };
    let resp = sender.send_request(req.body(Full::new(Bytes::from(bytes))).unwrap()).await.expect("request");
    let status = resp.status().as_u16();
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (set_cookie, retry_after) = (header("set-cookie"), header("retry-after"));
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answer { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), set_cookie, retry_after }
}

/// `bellhop user create|reset ID`: the printed enrolment code.
fn enrolment_code(rig: &Rig, command: &str, id: &str) -> String {
    let out = bellhop(&[
        "user",
        command,
        id,
        "--config",
        rig.daemon.config.to_str().unwrap(),
        "--data-dir",
        rig.daemon.data_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "user {command}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().find_map(|l| l.split_once("): ").map(|(_, code)| code.trim().to_owned())).expect("a code")
}

/// The `name=value` part of a `Set-Cookie`.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn sign_in(addr: &str, user: &str, password: &str, code: Option<&str>) -> Answer {
    let body = match code {
        Some(code) => json!({ "user": user, "password": password, "code": code }),
        None => json!({ "user": user, "password": password }),
    };
    call(addr, "POST", "/api/v1/auth/sign-in", Auth::None, Some(body)).await
}

const ANA_PASSWORD: &str = "towels at dawn, pillows at dusk";
const ADA_PASSWORD: &str = "the night audit never sleeps";

/// Enrols `id` without a second factor.
async fn enrol_plain(rig: &Rig, id: &str, password: &str) {
    let code = enrolment_code(rig, "create", id);
    let body = json!({ "user": id, "code": code, "password": password });
    let answer = call(&rig.daemon.http, "POST", "/api/v1/auth/enrol", Auth::None, Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

fn journal(rig: &Rig) -> Vec<(String, String, String)> {
    let db = open_db(&rig.daemon.data_dir);
    let mut stmt = db.prepare("SELECT actor, kind, payload FROM events ORDER BY seq").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn enrolment_sign_in_with_and_without_totp_idle_expiry_and_sign_out_everywhere() {
    let rig = rig();
    let addr = rig.daemon.http.clone();

    // Enrolment without a second factor (staff): the code shows the QR code; a weak password is refused clearly.
    let code = enrolment_code(&rig, "create", "ana");
    let offer =
        call(&addr, "POST", "/api/v1/auth/enrolment", Auth::None, Some(json!({ "user": "ana", "code": code }))).await;
    assert_eq!(offer.status, 200, "{}", offer.body);
    assert_eq!(offer.body["totp_required"], false);
    assert!(offer.body["totp_qr_svg"].as_str().unwrap().contains("<svg"));
    let weak = json!({ "user": "ana", "code": code, "password": "short" });
    let answer = call(&addr, "POST", "/api/v1/auth/enrol", Auth::None, Some(weak)).await;
    assert_eq!(answer.status, 422);
    assert!(answer.body["error"]["message"].as_str().unwrap().contains("at least 12"), "{}", answer.body);
    let good = json!({ "user": "ana", "code": code, "password": ANA_PASSWORD });
    let answer = call(&addr, "POST", "/api/v1/auth/enrol", Auth::None, Some(good.clone())).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["recovery_codes"], json!([]));
    let again = call(&addr, "POST", "/api/v1/auth/enrol", Auth::None, Some(good)).await;
    assert_eq!(again.status, 401, "an enrolment code works once");

    // Sign-in without a second factor: the cookie is HttpOnly, SameSite=Strict, and not Secure over plain HTTP.
    assert_eq!(sign_in(&addr, "ana", "not her password at all", None).await.status, 401);
    let signed = sign_in(&addr, "ana", ANA_PASSWORD, None).await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    let set_cookie = signed.set_cookie.expect("a session cookie");
    assert!(set_cookie.starts_with("bellhop_session="), "{set_cookie}");
    for attribute in ["Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let ana = cookie_pair(&set_cookie);
    let me = call(&addr, "GET", "/api/v1/auth/me", Auth::Cookie(&ana, false), None).await;
    assert_eq!(
        (me.status, me.body["actor"].clone(), me.body["language"].clone()),
        (200, json!("staff:ana"), json!("pt-PT"))
    );

    // A state-changing request with the cookie needs this gateway's Origin.
    let duty = json!({ "duty": "on" });
    let cross = call(&addr, "POST", "/api/v1/staff/ana/duty", Auth::Cookie(&ana, false), Some(duty.clone())).await;
    assert_eq!(cross.status, 403, "{}", cross.body);
    let own = call(&addr, "POST", "/api/v1/staff/ana/duty", Auth::Cookie(&ana, true), Some(duty)).await;
    assert_eq!(own.status, 200, "{}", own.body);
    let actors: Vec<String> =
        journal(&rig).into_iter().filter(|(_, kind, _)| kind == "staff_duty_changed").map(|(a, _, _)| a).collect();
    assert_eq!(actors, ["staff:ana"], "the journal names the person");

    // Use keeps the session alive past its 3 s idle time-out; left alone, it ends.
    let started = Instant::now();
    let mut last_use = started;
    while started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let me = call(&addr, "GET", "/api/v1/auth/me", Auth::Cookie(&ana, false), None).await;
        assert_eq!(me.status, 200, "in use after {:?}", started.elapsed());
        last_use = Instant::now();
    }
    // Watched through an admin's list (which does not use Ana's session), it disappears once idle.
    let admin = rig.daemon.token("admin");
    wait_until_async(Duration::from_secs(15), "the idle session to end", || {
        let (addr, admin) = (addr.clone(), admin.clone());
        async move {
            let list = call(&addr, "GET", "/api/v1/sessions?user=ana", Auth::Bearer(&admin), None).await;
            (list.status == 200 && list.body["sessions"] == json!([])).then_some(())
        }
    })
    .await;
    assert!(last_use.elapsed() >= Duration::from_millis(2500), "ended by the idle time-out, not at once");
    let me = call(&addr, "GET", "/api/v1/auth/me", Auth::Cookie(&ana, false), None).await;
    assert_eq!(me.status, 401, "{}", me.body);
    assert!(me.body["error"]["message"].as_str().unwrap().contains("idle"), "{}", me.body);

    // An admin needs a second factor: enrolment proves a code from the QR secret and hands out recovery codes.
    let code = enrolment_code(&rig, "create", "ada");
    let offer =
        call(&addr, "POST", "/api/v1/auth/enrolment", Auth::None, Some(json!({ "user": "ada", "code": code }))).await;
    assert_eq!(offer.body["totp_required"], true);
    let secret = totp::from_base32(offer.body["totp_secret"].as_str().unwrap()).unwrap();
    let without = json!({ "user": "ada", "code": code, "password": ADA_PASSWORD });
    let answer = call(&addr, "POST", "/api/v1/auth/enrol", Auth::None, Some(without)).await;
    assert_eq!(answer.status, 422, "the admin role needs the second factor: {}", answer.body);
    let step = totp::step_at(now_s());
    let enrol_code = totp::code_at(&secret, step);
    let with = json!({ "user": "ada", "code": code, "password": ADA_PASSWORD, "totp": enrol_code });
    let enrolled = call(&addr, "POST", "/api/v1/auth/enrol", Auth::None, Some(with)).await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.body);
    let recovery: Vec<String> =
        enrolled.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(recovery.len(), 10);

    // Sign-in with TOTP: the password alone is not enough, a used code is refused, a fresh one works once.
    let alone = sign_in(&addr, "ada", ADA_PASSWORD, None).await;
    assert_eq!((alone.status, alone.body["error"]["code"].clone()), (401, json!("second_factor_required")));
    let used = sign_in(&addr, "ada", ADA_PASSWORD, Some(&enrol_code)).await;
    assert_eq!(used.status, 401, "the code used at enrolment is refused");
    let next = totp::code_at(&secret, step + 1);
    let first = sign_in(&addr, "ada", ADA_PASSWORD, Some(&next)).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let ada_phone = cookie_pair(&first.set_cookie.unwrap());
    assert_eq!(sign_in(&addr, "ada", ADA_PASSWORD, Some(&next)).await.status, 401, "a code works once");
    let by_recovery = sign_in(&addr, "ada", ADA_PASSWORD, Some(&recovery[0])).await;
    assert_eq!(by_recovery.status, 200, "{}", by_recovery.body);
    let ada_desk = cookie_pair(&by_recovery.set_cookie.unwrap());
    assert_eq!(sign_in(&addr, "ada", ADA_PASSWORD, Some(&recovery[0])).await.status, 401, "a recovery code works once");

    // The admin lists sessions; signing out everywhere ends both at once.
    let sessions = call(&addr, "GET", "/api/v1/sessions?user=ada", Auth::Cookie(&ada_phone, false), None).await;
    assert_eq!(sessions.body["sessions"].as_array().unwrap().len(), 2, "{}", sessions.body);
    let out = call(&addr, "POST", "/api/v1/auth/sign-out-everywhere", Auth::Cookie(&ada_desk, true), None).await;
    assert_eq!((out.status, out.body["ended"].clone()), (200, json!(2)), "{}", out.body);
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
    for cookie in [&ada_phone, &ada_desk] {
        assert_eq!(call(&addr, "GET", "/api/v1/auth/me", Auth::Cookie(cookie, false), None).await.status, 401);
    }

    // Every attempt is journaled, and nothing secret is.
    let events = journal(&rig);
    let outcomes: Vec<String> = events
        .iter()
        .filter(|(_, kind, _)| kind == "sign_in_attempted")
        .map(|(_, _, p)| serde_json::from_str::<Value>(p).unwrap()["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| *o == "success").count(), 3, "{outcomes:?}");
    assert!(outcomes.iter().filter(|o| *o == "failure").count() >= 5, "{outcomes:?}");
    assert_eq!(events.iter().filter(|(_, kind, _)| kind == "session_ended").count(), 2);
    let everything: String = events.iter().map(|(_, _, p)| p.as_str()).collect();
    for secret in [ANA_PASSWORD, ADA_PASSWORD, enrol_code.as_str(), next.as_str(), recovery[0].as_str(), code.as_str()]
    {
        assert!(!everything.contains(secret), "the journal holds a secret: {secret}");
    }
    assert_chain_verifies(&rig.daemon.data_dir);
    drop(rig.dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_account_a_revoked_token_and_throttled_bad_tokens() {
    let rig = rig();
    let addr = rig.daemon.http.clone();
    let admin = rig.daemon.token("admin");
    enrol_plain(&rig, "ana", ANA_PASSWORD).await;

    // Three failures lock the account (lock_after = 3): even the right password is then refused, with Retry-After.
    for _ in 0..3 {
        assert_eq!(sign_in(&addr, "ana", "a wrong guess here", None).await.status, 401);
    }
    let locked = sign_in(&addr, "ana", ANA_PASSWORD, None).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    let retry: u64 = locked.retry_after.expect("Retry-After").parse().unwrap();
    assert!((590..=600).contains(&retry), "{retry}");
    let locks = call(&addr, "GET", "/api/v1/auth/locks", Auth::Bearer(&admin), None).await;
    assert_eq!(locks.body["locks"][0]["key"], "ana", "admins are told: {}", locks.body);
    let journaled: Vec<Value> = journal(&rig)
        .into_iter()
        .filter(|(_, kind, _)| kind == "sign_in_locked")
        .map(|(_, _, p)| serde_json::from_str(&p).unwrap())
        .collect();
    assert_eq!((journaled[0]["scope"].clone(), journaled[0]["key"].clone()), (json!("account"), json!("ana")));

    // A token issued through the API works; revoked with the CLI it fails at the very next request.
    let body = json!({ "role": "manager", "name": "PMS link", "owner": "integration:pms" });
    let issued = call(&addr, "POST", "/api/v1/tokens", Auth::Bearer(&admin), Some(body)).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let (id, secret) = (issued.body["id"].as_str().unwrap(), issued.body["secret"].as_str().unwrap());
    assert_eq!(call(&addr, "GET", "/api/v1/tickets", Auth::Bearer(secret), None).await.status, 200);
    let out = bellhop(&["token", "revoke", id, "--data-dir", rig.daemon.data_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let refused = call(&addr, "GET", "/api/v1/tickets", Auth::Bearer(secret), None).await;
    assert_eq!(refused.status, 401, "a revoked token is refused at once");
    let list = bellhop(&["token", "list", "--data-dir", rig.daemon.data_dir.to_str().unwrap()]);
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(listed.lines().any(|l| l.starts_with(id) && l.contains("integration:pms") && l.contains('Z')), "{listed}");
    assert!(!listed.contains(secret));

    // Bad bearer tokens meet the same throttle: past the address's limit even a good token is held back.
    for i in 0..20 {
        let answer = call(&addr, "GET", "/api/v1/tickets", Auth::Bearer(&format!("bh_wrong{i}")), None).await;
        if answer.status == 429 {
            break;
        }
        assert_eq!(answer.status, 401);
    }
    let held = call(&addr, "GET", "/api/v1/tickets", Auth::Bearer(&admin), None).await;
    assert_eq!(held.status, 429, "{}", held.body);
    assert!(journal(&rig).iter().any(|(_, kind, p)| kind == "sign_in_locked" && p.contains("\"address\"")));
}

/// A token that acts as `person`.
fn person_token(rig: &Rig, role: &str, person: &str) -> String {
    let out = bellhop(&[
        "token",
        "create",
        "--role",
        role,
        "--owner",
        &format!("staff:{person}"),
        "--data-dir",
        rig.daemon.data_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_role_and_ownership_case() {
    let rig = rig();
    let addr = rig.daemon.http.clone();
    let people = [
        ("ana", "staff"),
        ("bruno", "staff"),
        ("eva", "staff"),
        ("sara", "supervisor"),
        ("max", "manager"),
        ("ada", "admin"),
        ("nia", "analytics"),
        ("ian", "installer"),
    ];
    let tokens: std::collections::BTreeMap<&str, String> =
        people.iter().map(|(id, role)| (*id, person_token(&rig, role, id))).collect();
    let raise = |item: &'static str, location: &'static str| {
        let (addr, token) = (addr.clone(), tokens["ada"].clone());
        async move {
            let body = json!({ "item": item, "location": location });
            let answer = call(&addr, "POST", "/api/v1/tickets", Auth::Bearer(&token), Some(body)).await;
            assert_eq!(answer.status, 201, "{}", answer.body);
            answer.body["number"].as_str().unwrap().to_owned()
        }
    };
    let hk = raise("hk.towels", "101").await;
    let eng = raise("eng.ac", "102").await;
    let assigned = call(
        &addr,
        "POST",
        &format!("/api/v1/tickets/{hk}/assign"),
        Auth::Bearer(&tokens["ada"]),
        Some(json!({ "staff": "bruno" })),
    )
    .await;
    assert_eq!(assigned.status, 200, "{}", assigned.body);

    // (who, method, path, body, expected status). Every role on every kind of endpoint, and the ownership cases:
    // a colleague's duty, another department's ticket, a ticket of one's own department assigned to someone else.
    let hk_comment = format!("/api/v1/tickets/{hk}/comments");
    let eng_comment = format!("/api/v1/tickets/{eng}/comments");
    let note = json!({ "text": "on it" });
    let on = json!({ "duty": "on" });
    let to_eva = json!({ "staff": "eva" });
    let mut table: Vec<(&str, &str, String, Option<Value>, u16)> = Vec::new();
    let every = |table: &mut Vec<_>, method: &'static str, path: String, body: Option<Value>, expect: [u16; 8]| {
        for ((who, _), status) in people.iter().zip(expect) {
            table.push((*who, method, path.clone(), body.clone(), status));
        }
    };
    //                                                                       ana  bruno eva  sara max  ada  nia  ian
    every(&mut table, "GET", "/api/v1/tickets".into(), None, [200, 200, 200, 200, 200, 200, 200, 403]);
    every(&mut table, "GET", format!("/api/v1/tickets/{hk}"), None, [200, 200, 403, 200, 200, 200, 200, 403]);
    every(&mut table, "GET", format!("/api/v1/tickets/{eng}"), None, [403, 403, 200, 403, 200, 200, 200, 403]);
    every(&mut table, "GET", format!("/api/v1/tickets/{eng}/routing"), None, [403, 403, 200, 403, 200, 200, 200, 403]);
    every(&mut table, "POST", hk_comment.clone(), Some(note.clone()), [200, 200, 403, 200, 200, 200, 403, 403]);
    every(&mut table, "POST", eng_comment.clone(), Some(note.clone()), [403, 403, 200, 403, 200, 200, 403, 403]);
    every(
        &mut table,
        "POST",
        format!("/api/v1/tickets/{eng}/assign"),
        Some(to_eva),
        [403, 403, 403, 403, 200, 200, 403, 403],
    );
    every(
        &mut table,
        "POST",
        "/api/v1/staff/bruno/duty".into(),
        Some(on.clone()),
        [403, 200, 403, 200, 200, 200, 403, 403],
    );
    every(
        &mut table,
        "POST",
        "/api/v1/staff/eva/duty".into(),
        Some(on.clone()),
        [403, 403, 200, 403, 200, 200, 403, 403],
    );
    every(&mut table, "GET", "/api/v1/staff".into(), None, [200, 200, 200, 200, 200, 200, 200, 403]);
    every(&mut table, "GET", "/api/v1/devices".into(), None, [200; 8]);
    every(&mut table, "GET", "/metrics".into(), None, [200; 8]);
    every(&mut table, "GET", "/api/v1/users".into(), None, [403, 403, 403, 403, 403, 200, 403, 403]);
    every(&mut table, "GET", "/api/v1/tokens".into(), None, [403, 403, 403, 403, 403, 200, 403, 403]);
    every(&mut table, "GET", "/api/v1/auth/locks".into(), None, [403, 403, 403, 403, 403, 200, 403, 403]);
    every(&mut table, "GET", "/api/v1/sessions?user=bruno".into(), None, [403, 200, 403, 403, 403, 200, 403, 403]);
    every(
        &mut table,
        "POST",
        "/api/v1/users/bruno/enrolment".into(),
        Some(json!({})),
        [403, 403, 403, 403, 403, 201, 403, 403],
    );
    every(&mut table, "POST", "/api/v1/admin/reload".into(), None, [403, 403, 403, 403, 403, 200, 403, 403]);
    every(&mut table, "GET", "/api/v1/auth/me".into(), None, [200; 8]);

    let mut wrong = Vec::new();
    for (who, method, path, body, expected) in &table {
        let answer = call(&addr, method, path, Auth::Bearer(&tokens[who]), body.clone()).await;
        if answer.status != *expected {
            wrong.push(format!("{who} {method} {path}: {} (expected {expected}) {}", answer.status, answer.body));
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases wrong:\n{}", wrong.len(), table.len(), wrong.join("\n"));

    // The ticket's history names the person who acted.
    let detail = call(&addr, "GET", &format!("/api/v1/tickets/{hk}"), Auth::Bearer(&tokens["ada"]), None).await;
    let comments: Vec<&Value> =
        detail.body["history"].as_array().unwrap().iter().filter(|e| e["kind"] == "ticket_commented").collect();
    assert!(comments.iter().any(|e| e["actor"] == "staff:ana" && e["actor_name"] == "Ana Silva"), "{}", detail.body);
}
