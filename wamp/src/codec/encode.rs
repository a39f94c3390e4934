//! Encoding: the layout of every message, written element by element through a [`Format`].

use serde::Serialize;

use super::{EncodeError, Format, parse_value};
use crate::message::Message;
use crate::payload::{Part, Payload};
use crate::value::{Dict, Value};

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

pub(super) fn encode_with<F: Format>(m: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let payload = m.payload();
    let base = match m {
        // Request 0 is a revocation (advanced profile): it has a Details dict, and decoding
        // refuses `[35, 0]` without one.
        Message::Unsubscribed { request: 0 } | Message::Unregistered { request: 0 } => 3,
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
            if *request == 0 {
                w.value(&Dict::new())?;
            }
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
