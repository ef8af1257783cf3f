//! Fuzzes `Topics::parse` under the default root on arbitrary UTF-8: it must never panic, and every topic it
//! accepts must carry only valid ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tv_protocol::{validate_id, Topic, Topics};

fuzz_target!(|topic: &str| {
    let topics = Topics::new("bellhop").expect("the default root is valid");
    let ids: Vec<String> = match topics.parse(topic) {
        Ok(Topic::Request { location, device })
        | Ok(Topic::Ack { location, device })
        | Ok(Topic::Feedback { location, device })
        | Ok(Topic::Presence { location, device }) => vec![location, device],
        Ok(Topic::Status { location }) => vec![location],
        Ok(Topic::StaffNotify { staff }) => vec![staff],
        Ok(Topic::Menu) | Err(_) => Vec::new(),
    };
    for id in ids {
        assert_eq!(validate_id(&id), Ok(()), "{topic:?} parsed with an invalid id {id:?}");
    }
});
