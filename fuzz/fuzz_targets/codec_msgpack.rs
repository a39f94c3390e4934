//! `wamp::decode` of arbitrary bytes as `wamp.2.msgpack`, and the encode∘decode round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wamp::Serializer;

fuzz_target!(|data: &[u8]| wampstat_fuzz::codec_round_trip(Serializer::Msgpack, data));
