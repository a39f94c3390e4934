//! Bytes to [`Message`]s and back, for `wamp.2.json` and `wamp.2.msgpack`.
//!
//! The message layout is written once, generically over a [`Format`] that knows how to split a
//! top-level array into its elements, parse one element and write one. Decoding checks the code,
//! the arity, each element's type, IDs in [1, 2^53] and URIs (loose rules; patterns by their
//! `match` option) and returns a [`DecodeError`] for anything else — it never panics.
//! `Arguments` and `ArgumentsKw` are sliced out of the frame as they are (see [`crate::payload`]).

mod json;
mod msgpack;

use std::ops::Range;

use bytes::Bytes;
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};

use crate::id::{self, Id};
use crate::message::{Message, code, name_of};
use crate::payload::{Part, Payload};
use crate::serializer::Serializer;
use crate::uri::{self, MatchPolicy, UriCheck};
use crate::value::{Dict, Value};

/// Why bytes are not a valid WAMP message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a well-formed document of the serializer.
    #[error("malformed {serializer} message: {problem}")]
    Malformed {
        /// The serializer that was expected.
        serializer: Serializer,
        /// What is wrong.
        problem: String,
    },
    /// The document is not a non-empty array starting with an integer code.
    #[error("a WAMP message must be an array starting with an integer message code")]
    NotAMessage,
    /// The message code is not one this implementation knows.
    #[error("unknown message code {0}")]
    UnknownCode(u64),
    /// The message has too few or too many elements.
    #[error("{message} must have {min}..={max} elements, got {got}")]
    Arity {
        /// The message's name.
        message: &'static str,
        /// The fewest elements allowed.
        min: usize,
        /// The most elements allowed.
        max: usize,
        /// The number received.
        got: usize,
    },
    /// An element has the wrong type or value.
    #[error("{message}: element {index} ({field}) {problem}")]
    Element {
        /// The message's name.
        message: &'static str,
        /// The element's position in the array.
        index: usize,
        /// The element's name in the specification.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A URI breaks the URI rules; `request` lets a router answer with an ERROR (it is `None`
    /// where no ERROR may be sent: non-requests and unacknowledged publications).
    #[error("{message}: invalid URI {uri:?} in {field}")]
    InvalidUri {
        /// The message's name.
        message: &'static str,
        /// The message's code.
        code: u64,
        /// The request id of a request message, when it was read before the URI.
        request: Option<Id>,
        /// The element's name.
        field: &'static str,
        /// The offending URI.
        uri: String,
    },
    /// A payload or value could not be converted.
    #[error("invalid value: {0}")]
    Value(String),
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    /// A value could not be written in the target serializer.
    #[error("cannot encode as {serializer}: {problem}")]
    Serialize {
        /// The target serializer.
        serializer: Serializer,
        /// What went wrong.
        problem: String,
    },
    /// A raw payload part could not be transcoded between serializers.
    #[error("cannot transcode a payload: {0}")]
    Transcode(DecodeError),
}

/// Decodes one WAMP message; the payload keeps slices of `frame`.
pub fn decode(serializer: Serializer, frame: &Bytes) -> Result<Message, DecodeError> {
    match serializer {
        Serializer::Json => decode_with::<json::Json>(frame),
        Serializer::Msgpack => decode_with::<msgpack::Msgpack>(frame),
    }
}

/// Encodes one WAMP message.
pub fn encode(serializer: Serializer, message: &Message) -> Result<Bytes, EncodeError> {
    let raw = |p: &Option<Part>| match p {
        Some(Part::Raw(_, b)) => b.len(),
        _ => 0,
    };
    let payload_len = message
        .payload()
        .map_or(0, |p| raw(&p.args) + raw(&p.kwargs));
    let mut out = Vec::with_capacity(64 + payload_len);
    match serializer {
        Serializer::Json => encode_with::<json::Json>(message, &mut out)?,
        Serializer::Msgpack => encode_with::<msgpack::Msgpack>(message, &mut out)?,
    }
    Ok(Bytes::from(out))
}

/// Parses one serialized value (e.g. a raw payload part) into `T`.
pub fn parse_value<T: DeserializeOwned>(
    serializer: Serializer,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    match serializer {
        Serializer::Json => json::Json::parse(bytes),
        Serializer::Msgpack => msgpack::Msgpack::parse(bytes),
    }
    .map_err(DecodeError::Value)
}

/// Converts a [`Value`] into `T` (binary data stays binary).
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, DecodeError> {
    let bytes = rmp_serde::to_vec(value).map_err(|e| DecodeError::Value(e.to_string()))?;
    rmp_serde::from_slice(&bytes).map_err(|e| DecodeError::Value(e.to_string()))
}

/// The most elements any WAMP message has.
const MAX_ELEMENTS: usize = 7;

/// Byte ranges of the elements of a top-level array.
#[derive(Debug, Default)]
pub(crate) struct Elements {
    ranges: [(u32, u32); MAX_ELEMENTS],
    len: usize,
    /// Elements beyond `MAX_ELEMENTS` (only counted, for the arity error).
    extra: usize,
}

impl Elements {
    pub(crate) fn push(&mut self, r: Range<usize>) {
        if self.len < MAX_ELEMENTS {
            // Frames are far below 4 GiB (transport limits), so offsets fit in u32.
            self.ranges[self.len] = (r.start as u32, r.end as u32);
            self.len += 1;
        } else {
            self.extra += 1;
        }
    }
    fn count(&self) -> usize {
        self.len + self.extra
    }
    fn range(&self, i: usize) -> Range<usize> {
        let (a, b) = self.ranges[i];
        a as usize..b as usize
    }
}

/// The kind of a serialized element, as far as the message layout cares.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Kind {
    List,
    Dict,
    Other,
}

/// What the message layout needs of a serializer.
pub(crate) trait Format {
    const SERIALIZER: Serializer;
    /// Splits a top-level array into its elements' byte ranges.
    fn split(input: &[u8]) -> Result<Elements, DecodeError>;
    /// Parses one element.
    fn parse<'a, T: Deserialize<'a>>(elem: &'a [u8]) -> Result<T, String>;
    /// The kind of an element, from its first bytes.
    fn kind(elem: &[u8]) -> Kind;
    /// Starts an array of `len` elements.
    fn begin(out: &mut Vec<u8>, len: usize);
    /// Called before element `index` is written.
    fn separate(out: &mut Vec<u8>, index: usize);
    /// Ends the array.
    fn end(out: &mut Vec<u8>);
    /// Writes one value.
    fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), String>;
}

/// Reads the elements of one message in order.
struct Reader<'a, F> {
    frame: &'a Bytes,
    elements: Elements,
    message: &'static str,
    next: usize,
    _format: std::marker::PhantomData<F>,
}

impl<'a, F: Format> Reader<'a, F> {
    fn element_error(
        &self,
        index: usize,
        field: &'static str,
        problem: impl Into<String>,
    ) -> DecodeError {
        DecodeError::Element {
            message: self.message,
            index,
            field,
            problem: problem.into(),
        }
    }

    fn take<T: Deserialize<'a>>(
        &mut self,
        field: &'static str,
        what: &str,
    ) -> Result<T, DecodeError> {
        let i = self.next;
        self.next += 1;
        let bytes: &'a [u8] = &self.frame[self.elements.range(i)];
        F::parse(bytes).map_err(|e| self.element_error(i, field, format!("must be {what}: {e}")))
    }

    fn id(&mut self, field: &'static str) -> Result<Id, DecodeError> {
        let i = self.next;
        let v: u64 = self.take(field, "an integer ID")?;
        if id::is_valid(v) {
            Ok(v)
        } else {
            Err(self.element_error(i, field, format!("is {v}, outside [1, 2^53]")))
        }
    }

    fn int(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.take(field, "a non-negative integer")
    }

    fn dict(&mut self, field: &'static str) -> Result<Dict, DecodeError> {
        self.take(field, "a dict")
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        self.take(field, "a string")
    }

    /// A concrete URI, checked with the loose rules.
    fn uri(
        &mut self,
        field: &'static str,
        code: u64,
        request: Option<Id>,
    ) -> Result<String, DecodeError> {
        let s = self.string(field)?;
        if uri::is_valid(&s, UriCheck::Loose) {
            Ok(s)
        } else {
            Err(self.invalid_uri(field, code, request, s))
        }
    }

    /// A URI that may be a pattern, by the `match` option.
    fn pattern(&mut self, options: &Dict, code: u64, request: Id) -> Result<String, DecodeError> {
        let field = if code == code::SUBSCRIBE {
            "Topic"
        } else {
            "Procedure"
        };
        let s = self.string(field)?;
        let policy = options
            .get("match")
            .and_then(Value::as_str)
            .and_then(MatchPolicy::parse)
            .unwrap_or_default();
        if uri::is_valid_pattern(&s, policy, UriCheck::Loose) {
            Ok(s)
        } else {
            Err(self.invalid_uri(field, code, Some(request), s))
        }
    }

    fn invalid_uri(
        &self,
        field: &'static str,
        code: u64,
        request: Option<Id>,
        uri: String,
    ) -> DecodeError {
        DecodeError::InvalidUri {
            message: self.message,
            code,
            request,
            field,
            uri,
        }
    }

    /// The optional `Arguments|list` and `ArgumentsKw|dict` at the end.
    fn payload(&mut self) -> Result<Payload, DecodeError> {
        let mut payload = Payload::empty();
        if self.next < self.elements.len {
            let (i, r) = (self.next, self.elements.range(self.next));
            if F::kind(&self.frame[r.clone()]) != Kind::List {
                return Err(self.element_error(i, "Arguments", "must be a list"));
            }
            payload.args = Some(Part::Raw(F::SERIALIZER, self.frame.slice(r)));
            self.next += 1;
        }
        if self.next < self.elements.len {
            let (i, r) = (self.next, self.elements.range(self.next));
            if F::kind(&self.frame[r.clone()]) != Kind::Dict {
                return Err(self.element_error(i, "ArgumentsKw", "must be a dict"));
            }
            payload.kwargs = Some(Part::Raw(F::SERIALIZER, self.frame.slice(r)));
            self.next += 1;
        }
        Ok(payload)
    }
}

fn arity(message: &'static str, got: usize, min: usize, max: usize) -> Result<(), DecodeError> {
    if (min..=max).contains(&got) {
        Ok(())
    } else {
        Err(DecodeError::Arity {
            message,
            min,
            max,
            got,
        })
    }
}

fn decode_with<F: Format>(frame: &Bytes) -> Result<Message, DecodeError> {
    let elements = F::split(frame)?;
    if elements.len == 0 {
        return Err(DecodeError::NotAMessage);
    }
    let c: u64 = F::parse(&frame[elements.range(0)]).map_err(|_| DecodeError::NotAMessage)?;
    let message = name_of(c).ok_or(DecodeError::UnknownCode(c))?;
    let n = elements.count();
    let mut r = Reader::<F> {
        frame,
        elements,
        message,
        next: 1,
        _format: std::marker::PhantomData,
    };
    use code::*;
    let (min, max) = match c {
        ERROR => (5, 7),
        PUBLISH | EVENT | CALL | INVOCATION => (4, 6),
        RESULT | YIELD => (3, 5),
        SUBSCRIBE | REGISTER => (4, 4),
        UNSUBSCRIBED | UNREGISTERED => (2, 3),
        // ABORT may carry Arguments and ArgumentsKw (advanced profile); they are read and dropped.
        ABORT => (3, 5),
        _ => (3, 3),
    };
    arity(message, n, min, max)?;
    let m = match c {
        HELLO => Message::Hello {
            realm: r.uri("Realm", c, None)?,
            details: r.dict("Details")?,
        },
        WELCOME => Message::Welcome {
            session: r.id("Session")?,
            details: r.dict("Details")?,
        },
        ABORT => {
            let m = Message::Abort {
                details: r.dict("Details")?,
                reason: r.uri("Reason", c, None)?,
            };
            r.payload()?;
            m
        }
        CHALLENGE => Message::Challenge {
            authmethod: r.string("AuthMethod")?,
            extra: r.dict("Extra")?,
        },
        AUTHENTICATE => Message::Authenticate {
            signature: r.string("Signature")?,
            extra: r.dict("Extra")?,
        },
        GOODBYE => Message::Goodbye {
            details: r.dict("Details")?,
            reason: r.uri("Reason", c, None)?,
        },
        ERROR => {
            let request_type = r.int("REQUEST.Type")?;
            if name_of(request_type).is_none() {
                return Err(r.element_error(
                    1,
                    "REQUEST.Type",
                    format!("{request_type} is not a message code"),
                ));
            }
            Message::Error {
                request_type,
                request: r.id("REQUEST.Request")?,
                details: r.dict("Details")?,
                error: r.uri("Error", c, None)?,
                payload: r.payload()?,
            }
        }
        PUBLISH => {
            let request = r.id("Request")?;
            let options = r.dict("Options")?;
            // Only an acknowledged publication gets an ERROR back (hence the request id).
            let acknowledged = options.get("acknowledge").and_then(Value::as_bool) == Some(true);
            Message::Publish {
                request,
                topic: r.uri("Topic", c, acknowledged.then_some(request))?,
                options,
                payload: r.payload()?,
            }
        }
        PUBLISHED => Message::Published {
            request: r.id("PUBLISH.Request")?,
            publication: r.id("Publication")?,
        },
        SUBSCRIBE | REGISTER => {
            let request = r.id("Request")?;
            let options = r.dict("Options")?;
            let uri = r.pattern(&options, c, request)?;
            if c == SUBSCRIBE {
                Message::Subscribe {
                    request,
                    options,
                    topic: uri,
                }
            } else {
                Message::Register {
                    request,
                    options,
                    procedure: uri,
                }
            }
        }
        SUBSCRIBED => Message::Subscribed {
            request: r.id("SUBSCRIBE.Request")?,
            subscription: r.id("Subscription")?,
        },
        UNSUBSCRIBE => Message::Unsubscribe {
            request: r.id("Request")?,
            subscription: r.id("SUBSCRIBED.Subscription")?,
        },
        UNSUBSCRIBED | UNREGISTERED => {
            // A revocation (advanced profile) carries request 0 and a Details dict.
            let request = if n == 3 {
                r.int("UNSUBSCRIBE.Request")?
            } else {
                r.id("UNSUBSCRIBE.Request")?
            };
            if n == 3 {
                r.dict("Details")?;
            }
            if c == UNSUBSCRIBED {
                Message::Unsubscribed { request }
            } else {
                Message::Unregistered { request }
            }
        }
        EVENT => Message::Event {
            subscription: r.id("SUBSCRIBED.Subscription")?,
            publication: r.id("PUBLISHED.Publication")?,
            details: r.dict("Details")?,
            payload: r.payload()?,
        },
        CALL => {
            let request = r.id("Request")?;
            Message::Call {
                request,
                options: r.dict("Options")?,
                procedure: r.uri("Procedure", c, Some(request))?,
                payload: r.payload()?,
            }
        }
        CANCEL => Message::Cancel {
            request: r.id("CALL.Request")?,
            options: r.dict("Options")?,
        },
        RESULT => Message::Result {
            request: r.id("CALL.Request")?,
            details: r.dict("Details")?,
            payload: r.payload()?,
        },
        REGISTERED => Message::Registered {
            request: r.id("REGISTER.Request")?,
            registration: r.id("Registration")?,
        },
        UNREGISTER => Message::Unregister {
            request: r.id("Request")?,
            registration: r.id("REGISTERED.Registration")?,
        },
        INVOCATION => Message::Invocation {
            request: r.id("Request")?,
            registration: r.id("REGISTERED.Registration")?,
            details: r.dict("Details")?,
            payload: r.payload()?,
        },
        INTERRUPT => Message::Interrupt {
            request: r.id("INVOCATION.Request")?,
            options: r.dict("Options")?,
        },
        YIELD => Message::Yield {
            request: r.id("INVOCATION.Request")?,
            options: r.dict("Options")?,
            payload: r.payload()?,
        },
        other => return Err(DecodeError::UnknownCode(other)),
    };
    Ok(m)
}

/// Writes the elements of one message in order.
struct Writer<'a, F> {
    out: &'a mut Vec<u8>,
    index: usize,
    _format: std::marker::PhantomData<F>,
}

impl<F: Format> Writer<'_, F> {
    fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<&mut Self, EncodeError> {
        F::separate(self.out, self.index);
        self.index += 1;
        F::write(self.out, v).map_err(|problem| EncodeError::Serialize {
            serializer: F::SERIALIZER,
            problem,
        })?;
        Ok(self)
    }

    fn part(&mut self, part: &Part) -> Result<(), EncodeError> {
        match part {
            Part::Raw(ser, bytes) if *ser == F::SERIALIZER => {
                F::separate(self.out, self.index);
                self.index += 1;
                self.out.extend_from_slice(bytes);
                Ok(())
            }
            Part::Raw(ser, bytes) => {
                let v: Value = parse_value(*ser, bytes).map_err(EncodeError::Transcode)?;
                self.value(&v).map(|_| ())
            }
            Part::Value(v) => self.value(v).map(|_| ()),
        }
    }

    fn payload(&mut self, p: &Payload) -> Result<(), EncodeError> {
        match (&p.args, &p.kwargs) {
            (None, None) => Ok(()),
            (Some(a), None) => self.part(a),
            (a, Some(k)) => {
                match a {
                    Some(a) => self.part(a)?,
                    None => {
                        self.value(&[] as &[Value])?;
                    }
                }
                self.part(k)
            }
        }
    }
}

fn encode_with<F: Format>(m: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let payload = m.payload();
    let base = match m {
        Message::Unsubscribed { .. } | Message::Unregistered { .. } => 2,
        Message::Error { .. } => 5,
        Message::Publish { .. }
        | Message::Subscribe { .. }
        | Message::Register { .. }
        | Message::Event { .. }
        | Message::Call { .. }
        | Message::Invocation { .. } => 4,
        _ => 3,
    };
    let len = base + payload.map_or(0, Payload::element_count);
    F::begin(out, len);
    let mut w = Writer::<F> {
        out,
        index: 0,
        _format: std::marker::PhantomData,
    };
    w.value(&m.code())?;
    match m {
        Message::Hello { realm, details } => {
            w.value(realm)?.value(details)?;
        }
        Message::Welcome { session, details } => {
            w.value(session)?.value(details)?;
        }
        Message::Abort { details, reason } | Message::Goodbye { details, reason } => {
            w.value(details)?.value(reason)?;
        }
        Message::Challenge { authmethod, extra } => {
            w.value(authmethod)?.value(extra)?;
        }
        Message::Authenticate { signature, extra } => {
            w.value(signature)?.value(extra)?;
        }
        Message::Error {
            request_type,
            request,
            details,
            error,
            ..
        } => {
            w.value(request_type)?
                .value(request)?
                .value(details)?
                .value(error)?;
        }
        Message::Publish {
            request,
            options,
            topic: uri,
            ..
        }
        | Message::Subscribe {
            request,
            options,
            topic: uri,
        }
        | Message::Call {
            request,
            options,
            procedure: uri,
            ..
        }
        | Message::Register {
            request,
            options,
            procedure: uri,
        } => {
            w.value(request)?.value(options)?.value(uri)?;
        }
        Message::Published {
            request,
            publication: id,
        }
        | Message::Subscribed {
            request,
            subscription: id,
        }
        | Message::Unsubscribe {
            request,
            subscription: id,
        }
        | Message::Registered {
            request,
            registration: id,
        }
        | Message::Unregister {
            request,
            registration: id,
        } => {
            w.value(request)?.value(id)?;
        }
        Message::Unsubscribed { request } | Message::Unregistered { request } => {
            w.value(request)?;
        }
        Message::Event {
            subscription: a,
            publication: b,
            details,
            ..
        }
        | Message::Invocation {
            request: a,
            registration: b,
            details,
            ..
        } => {
            w.value(a)?.value(b)?.value(details)?;
        }
        Message::Cancel { request, options }
        | Message::Interrupt { request, options }
        | Message::Result {
            request,
            details: options,
            ..
        }
        | Message::Yield {
            request, options, ..
        } => {
            w.value(request)?.value(options)?;
        }
    }
    if let Some(p) = payload {
        w.payload(p)?;
    }
    F::end(w.out);
    Ok(())
}

#[cfg(test)]
mod tests;
