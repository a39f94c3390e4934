//! `wamp.session.add_testament` and `wamp.session.flush_testaments`, answered for the calling
//! session (they need its identity and permissions, which the meta procedures do not have),
//! and the publication of its testaments when it is gone, as if it published them.

use wamp::{Dict, MatchPolicy, Payload, Value};

use super::dispatch::Joined;
use crate::authorize::Action;
use crate::refusal::Refusal;
use crate::testament::{Scope, Testament};
use wamp::sync::lock;

impl Joined<'_> {
    /// Answers a testament procedure; `None` for any other procedure (or when the realm's
    /// meta API is off).
    pub(super) fn testament_call(
        &self,
        procedure: &str,
        payload: &Payload,
    ) -> Option<Result<Payload, Refusal>> {
        if !self.realm.config.enable_meta_api {
            return None;
        }
        let answer = match procedure {
            "wamp.session.add_testament" => self.add_testament(payload),
            "wamp.session.flush_testaments" => self.flush_testaments(payload),
            _ => return None,
        };
        Some(answer.map(|()| Payload::empty()))
    }

    /// `add_testament(topic, args, kwargs, publish_options=, scope=)`: the topic must be one
    /// this session may publish to, now.
    fn add_testament(&self, payload: &Payload) -> Result<(), Refusal> {
        let (args, kwargs) = arguments(payload)?;
        let Some(Value::Str(topic)) = args.first() else {
            return Err(Refusal::invalid_argument(
                "argument 0 must be the topic (a string)",
            ));
        };
        self.check(topic, MatchPolicy::Exact, Action::Publish)?;
        let event_args = match args.get(1) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::List(l)) => l.clone(),
            Some(other) => {
                return Err(Refusal::invalid_argument(format!(
                    "argument 1 must be the event's arguments (a list), got {other:?}"
                )));
            }
        };
        let event_kwargs = match args.get(2) {
            None | Some(Value::Null) => Dict::new(),
            Some(Value::Dict(d)) => d.clone(),
            Some(other) => {
                return Err(Refusal::invalid_argument(format!(
                    "argument 2 must be the event's keyword arguments (a dict), got {other:?}"
                )));
            }
        };
        let options = match kwargs.get("publish_options") {
            None | Some(Value::Null) => Dict::new(),
            Some(Value::Dict(d)) => d.clone(),
            Some(other) => {
                return Err(Refusal::invalid_argument(format!(
                    "publish_options must be a dict, got {other:?}"
                )));
            }
        };
        let scope = Scope::parse(kwargs.get("scope"))?;
        let size = crate::limits::payload_bytes(payload);
        let testament = Testament {
            topic: topic.clone(),
            payload: Payload::new(event_args, event_kwargs),
            options,
            size,
        };
        lock(&self.me.testaments).add(scope, testament)
    }

    /// `flush_testaments(scope=)`.
    fn flush_testaments(&self, payload: &Payload) -> Result<(), Refusal> {
        let (_, kwargs) = arguments(payload)?;
        let scope = Scope::parse(kwargs.get("scope"))?;
        lock(&self.me.testaments).flush(scope);
        Ok(())
    }

    /// Publishes the session's testaments (`detached`, then `destroyed`, each in the order
    /// added), as the session would have; takes them, so they go out once.
    pub(super) fn publish_testaments(&self) {
        let all = lock(&self.me.testaments).take_all();
        for t in all {
            if let Err(r) = self.publish(&t.options, &t.topic, &t.payload) {
                tracing::info!(
                    session = self.me.id,
                    topic = %t.topic,
                    "testament not published: {} ({})",
                    r.message,
                    r.error
                );
            }
        }
    }
}

/// The call's arguments and keyword arguments.
fn arguments(payload: &Payload) -> Result<(Vec<Value>, Dict), Refusal> {
    let args = payload
        .args()
        .map_err(|e| Refusal::invalid_argument(format!("arguments: {e}")))?;
    let kwargs = payload
        .kwargs()
        .map_err(|e| Refusal::invalid_argument(format!("keyword arguments: {e}")))?;
    Ok((args, kwargs))
}
