//! The worker protocol decoder: a WebSocket text frame as the master decodes a worker's
//! message (and the worker a master's). What decodes must encode and decode back to itself.
#![no_main]

use cascade::worker::protocol::{MasterMsg, WorkerMsg};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Text frames are UTF-8 (the WebSocket layer refuses others); binary frames close the
    // connection undecoded.
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(msg) = serde_json::from_str::<WorkerMsg>(text) {
        let again = serde_json::to_string(&msg).expect("a decoded message encodes");
        assert_eq!(serde_json::from_str::<WorkerMsg>(&again).expect("its encoding decodes"), msg);
    }
    if let Ok(msg) = serde_json::from_str::<MasterMsg>(text) {
        let again = serde_json::to_string(&msg).expect("a decoded message encodes");
        assert_eq!(serde_json::from_str::<MasterMsg>(&again).expect("its encoding decodes"), msg);
    }
});
