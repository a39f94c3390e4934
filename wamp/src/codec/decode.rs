//! Decoding: the layout of every message, read element by element from a [`Format`]'s split
//! of the frame, with each element's type, IDs and URIs checked.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::{DecodeError, Elements, Format, Kind};
use crate::id::{self, Id};
use crate::message::{Message, code, name_of};
use crate::payload::{Part, Payload, is_passthru};
use crate::serializer::Serializer;
use crate::uri::{self, MatchPolicy, UriCheck};
use crate::value::{Dict, Value};

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

    fn take<T: DeserializeOwned>(
        &mut self,
        field: &'static str,
        what: &str,
    ) -> Result<T, DecodeError> {
        let i = self.next;
        self.next += 1;
        let bytes: &[u8] = &self.frame[self.elements.range(i)];
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

    /// A request that is 0 (a revocation) or a valid ID.
    fn revocation_request(&mut self, field: &'static str) -> Result<Id, DecodeError> {
        let i = self.next;
        let v: u64 = self.take(field, "an integer ID or 0")?;
        if v == 0 || id::is_valid(v) {
            Ok(v)
        } else {
            Err(self.element_error(i, field, format!("is {v}, neither 0 nor in [1, 2^53]")))
        }
    }

    fn int(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.take(field, "a non-negative integer")
    }

    /// A dict, itself untagged (CBOR): a tag on it is refused like one inside it, and like
    /// one on `Arguments` or `ArgumentsKw`.
    fn dict(&mut self, field: &'static str) -> Result<Dict, DecodeError> {
        let i = self.next;
        let d = self.take(field, "a dict")?;
        if F::kind(&self.frame[self.elements.range(i)]) != Kind::Dict {
            return Err(self.element_error(i, field, "must be a dict, not a tagged one"));
        }
        Ok(d)
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

    /// The optional `Arguments|list` and `ArgumentsKw|dict` at the end. When `options` (or
    /// details) put the message in pass-through mode, `Arguments` may instead be one binary
    /// value, the opaque payload, after which `ArgumentsKw` must be absent or empty.
    fn payload(&mut self, options: &Dict) -> Result<Payload, DecodeError> {
        let mut payload = Payload::empty();
        let mut binary = false;
        if self.next < self.elements.len {
            let (i, r) = (self.next, self.elements.range(self.next));
            let elem = &self.frame[r.clone()];
            match F::kind(elem) {
                Kind::List => {}
                Kind::Binary if is_passthru(options) => {
                    // JSON's binary is base64 text: checked now, so that a bad one is the
                    // sender's error rather than a failure to transcode it for some receiver.
                    if F::SERIALIZER == Serializer::Json {
                        match F::parse::<Value>(elem) {
                            Ok(Value::Bytes(_)) => {}
                            Ok(_) => {
                                return Err(self.element_error(i, "Arguments", "is not binary"));
                            }
                            Err(e) => {
                                return Err(self.element_error(
                                    i,
                                    "Arguments",
                                    format!("must be binary: {e}"),
                                ));
                            }
                        }
                    }
                    binary = true;
                }
                _ if is_passthru(options) => {
                    return Err(self.element_error(
                        i,
                        "Arguments",
                        "must be a list, or binary in payload pass-through mode",
                    ));
                }
                _ => return Err(self.element_error(i, "Arguments", "must be a list")),
            }
            payload.args = Some(Part::Raw(F::SERIALIZER, self.frame.slice(r)));
            self.next += 1;
        }
        if self.next < self.elements.len {
            let (i, r) = (self.next, self.elements.range(self.next));
            if F::kind(&self.frame[r.clone()]) != Kind::Dict {
                return Err(self.element_error(i, "ArgumentsKw", "must be a dict"));
            }
            if binary {
                let kwargs: Dict = self.take("ArgumentsKw", "a dict")?;
                if !kwargs.is_empty() {
                    return Err(self.element_error(
                        i,
                        "ArgumentsKw",
                        "must be absent or empty with a binary pass-through payload",
                    ));
                }
            } else {
                self.next += 1;
            }
            payload.kwargs = Some(Part::Raw(F::SERIALIZER, self.frame.slice(r)));
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

pub(super) fn decode_with<F: Format>(frame: &Bytes) -> Result<Message, DecodeError> {
    let (c, r) = begin::<F>(frame)?;
    decode_rest(c, r)
}

/// Splits the frame and reads the message code: the reader stands on element 1.
fn begin<F: Format>(frame: &Bytes) -> Result<(u64, Reader<'_, F>), DecodeError> {
    let elements = F::split(frame)?;
    if elements.len == 0 {
        return Err(DecodeError::NotAMessage);
    }
    let c: u64 = F::parse(&frame[elements.range(0)]).map_err(|_| DecodeError::NotAMessage)?;
    let message = name_of(c).ok_or(DecodeError::UnknownCode(c))?;
    let r = Reader::<F> {
        frame,
        elements,
        message,
        next: 1,
        _format: std::marker::PhantomData,
    };
    Ok((c, r))
}

/// Like [`decode_with`], except that an EVENT's Details stay bytes (see
/// [`super::decode_lazy`]); checked all the same, except for what is inside the Details.
pub(super) fn decode_lazy_with<F: Format>(frame: &Bytes) -> Result<Decoded, DecodeError> {
    let (c, mut r) = begin::<F>(frame)?;
    if c != code::EVENT {
        return decode_rest(c, r).map(Decoded::Message);
    }
    let n = r.elements.count();
    arity(r.message, n, 4, 6)?;
    // A binary Arguments (payload pass-through) is allowed only by keys of the Details: that
    // rare case is decoded in full.
    if n > 4 && F::kind(&frame[r.elements.range(4)]) == Kind::Binary {
        return decode_rest(c, r).map(Decoded::Message);
    }
    let subscription = r.id("SUBSCRIBED.Subscription")?;
    let publication = r.id("PUBLISHED.Publication")?;
    let i = r.next;
    let range = r.elements.range(i);
    if F::kind(&frame[range.clone()]) != Kind::Dict {
        return Err(r.element_error(i, "Details", "must be a dict"));
    }
    r.next += 1;
    Ok(Decoded::Event(LazyEvent {
        subscription,
        publication,
        details: Part::Raw(F::SERIALIZER, frame.slice(range)),
        payload: r.payload(&Dict::new())?,
    }))
}

/// What [`super::decode_lazy`] makes of a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// An EVENT, its Details not decoded yet.
    Event(LazyEvent),
    /// Any other message (or an EVENT with a pass-through payload), decoded in full.
    Message(Message),
}

/// An EVENT whose Details are still the bytes they came in (a dict, checked no further).
#[derive(Debug, Clone, PartialEq)]
pub struct LazyEvent {
    /// The subscription.
    pub subscription: Id,
    /// The publication.
    pub publication: Id,
    /// The Details, as received.
    pub details: Part,
    /// The arguments.
    pub payload: Payload,
}

/// The elements after the code of message `c`.
fn decode_rest<F: Format>(c: u64, mut r: Reader<'_, F>) -> Result<Message, DecodeError> {
    let message = r.message;
    let n = r.elements.count();
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
            r.payload(&Dict::new())?;
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
            let request = r.id("REQUEST.Request")?;
            let details = r.dict("Details")?;
            let error = r.uri("Error", c, None)?;
            Message::Error {
                request_type,
                request,
                payload: r.payload(&details)?,
                details,
                error,
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
                payload: r.payload(&options)?,
                options,
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
                r.revocation_request("UNSUBSCRIBE.Request")?
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
        EVENT => {
            let subscription = r.id("SUBSCRIBED.Subscription")?;
            let publication = r.id("PUBLISHED.Publication")?;
            let details = r.dict("Details")?;
            Message::Event {
                subscription,
                publication,
                payload: r.payload(&details)?,
                details,
            }
        }
        CALL => {
            let request = r.id("Request")?;
            let options = r.dict("Options")?;
            Message::Call {
                request,
                procedure: r.uri("Procedure", c, Some(request))?,
                payload: r.payload(&options)?,
                options,
            }
        }
        CANCEL => Message::Cancel {
            request: r.id("CALL.Request")?,
            options: r.dict("Options")?,
        },
        RESULT => {
            let request = r.id("CALL.Request")?;
            let details = r.dict("Details")?;
            Message::Result {
                request,
                payload: r.payload(&details)?,
                details,
            }
        }
        REGISTERED => Message::Registered {
            request: r.id("REGISTER.Request")?,
            registration: r.id("Registration")?,
        },
        UNREGISTER => Message::Unregister {
            request: r.id("Request")?,
            registration: r.id("REGISTERED.Registration")?,
        },
        INVOCATION => {
            let request = r.id("Request")?;
            let registration = r.id("REGISTERED.Registration")?;
            let details = r.dict("Details")?;
            Message::Invocation {
                request,
                registration,
                payload: r.payload(&details)?,
                details,
            }
        }
        INTERRUPT => Message::Interrupt {
            request: r.id("INVOCATION.Request")?,
            options: r.dict("Options")?,
        },
        YIELD => {
            let request = r.id("INVOCATION.Request")?;
            let options = r.dict("Options")?;
            Message::Yield {
                request,
                payload: r.payload(&options)?,
                options,
            }
        }
        other => return Err(DecodeError::UnknownCode(other)),
    };
    Ok(m)
}
