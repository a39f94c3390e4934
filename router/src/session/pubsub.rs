//! PUBLISH, SUBSCRIBE and UNSUBSCRIBE: parse the options → check the URI → the broker → reply
//! (and the lifecycle meta events, after the reply).

use wamp::message::code;
use wamp::{Dict, Id, MatchPolicy, Message, Payload};

use super::dispatch::Joined;
use super::options::{flag, flag_or, match_policy};
use crate::authorize::Action;
use crate::broker::{Filter, Identity, Publication, Subscribed};
use crate::history::Published;
use crate::refusal::Refusal;
use crate::retention::RetainedEvent;

impl Joined<'_> {
    /// PUBLISH: delivered to the subscribers; PUBLISHED or ERROR only with `acknowledge`.
    pub(super) fn on_publish(&self, request: Id, options: &Dict, topic: &str, payload: &Payload) {
        let acknowledge = flag(options, "acknowledge");
        match self.publish(options, topic, payload) {
            Ok(publication) if acknowledge => self.send(&Message::Published {
                request,
                publication,
            }),
            Err(r) if acknowledge => self.refuse(code::PUBLISH, request, r),
            _ => {}
        }
    }

    /// Publishes as this session (its permissions and disclosure), without an answer.
    pub(super) fn publish(
        &self,
        options: &Dict,
        topic: &str,
        payload: &Payload,
    ) -> Result<Id, Refusal> {
        let perm = self.check(topic, MatchPolicy::Exact, Action::Publish)?;
        let p = Publication {
            topic,
            payload,
            exclude_me: flag_or(options, "exclude_me", true),
            disclose: perm.disclose.publisher || flag(options, "disclose_me"),
            passthru: wamp::payload::passthru_keys(options),
            filter: Filter::from_options(options),
            passive: false,
        };
        let publication = self.realm.broker.publish(&Identity::from(&**self.me), &p);
        if let Some(b) = &self.realm.backplane {
            // [ours] The other nodes' subscribers: the same id, in this session's serializer
            // (its raw payload copied as it came); never waits.
            b.publish(
                self.me.serializer(),
                &Identity::from(&**self.me),
                publication,
                &p,
            );
        }
        if let Some(m) = &self.realm.metrics {
            m.published(topic);
        }
        let retain = flag(options, "retain");
        if retain || !self.realm.history.is_empty() {
            let mut details = self.event_details(p.disclose);
            details.extend(p.passthru.iter().map(|(k, v)| (k.clone(), v.clone())));
            if retain {
                self.retain(&p, publication, options, details.clone());
            }
            self.realm.history.on_publish(&Published {
                topic,
                publication,
                details: &details,
                payload,
                options,
            });
        }
        Ok(publication)
    }

    /// An event's details as this session's publications carry them (publisher disclosure).
    fn event_details(&self, disclose: bool) -> Dict {
        let mut details = Dict::new();
        if disclose {
            details.insert("publisher".into(), self.me.id.into());
            details.insert("publisher_authid".into(), self.me.authid.as_str().into());
            details.insert(
                "publisher_authrole".into(),
                self.me.authrole.as_str().into(),
            );
        }
        details
    }

    /// Keeps publication `p` as its topic's retained event.
    fn retain(&self, p: &Publication<'_>, publication: Id, options: &Dict, details: Dict) {
        let event = RetainedEvent {
            publication,
            publisher: self.me.id,
            exclude_me: p.exclude_me,
            details,
            payload: p.payload.clone(),
            filter: Filter::from_options(options),
            size: crate::limits::payload_bytes(p.payload),
        };
        if !self.realm.retained.retain(p.topic, event) {
            tracing::debug!(
                topic = p.topic,
                "retained event not kept: the realm's limit"
            );
        }
    }

    /// Sends the subscriber of `subscription` (to `uri` by `policy`) the retained events it
    /// would have received, each marked `retained: true`.
    fn send_retained(&self, subscription: Id, uri: &str, policy: MatchPolicy) {
        let mut events = Vec::new();
        self.realm
            .retained
            .for_subscriber(uri, policy, self.me, |topic, e| {
                let mut details = e.details.clone();
                if policy != MatchPolicy::Exact {
                    details.insert("topic".into(), topic.into());
                }
                details.insert("retained".into(), true.into());
                events.push(Message::Event {
                    subscription,
                    publication: e.publication,
                    details,
                    payload: e.payload.clone(),
                });
            });
        for event in &events {
            self.send(event);
        }
    }

    /// SUBSCRIBE: SUBSCRIBED (the subscription shared by everyone on the same URI and policy).
    pub(super) fn on_subscribe(&self, request: Id, options: &Dict, topic: &str) {
        match self.subscribe(options, topic) {
            Ok((s, policy)) => {
                self.send(&Message::Subscribed {
                    request,
                    subscription: s.id,
                });
                // A session that was subscribed already is not added: no lifecycle event (as
                // Crossbar: `on_subscribe` only when it was not subscribed before).
                if s.joined {
                    self.realm
                        .events
                        .on_subscribe(self.me.id, s.id, topic, policy, s.created);
                }
                if flag(options, "get_retained") {
                    self.send_retained(s.id, topic, policy);
                }
            }
            Err(r) => self.refuse(code::SUBSCRIBE, request, r),
        }
    }

    fn subscribe(&self, options: &Dict, topic: &str) -> Result<(Subscribed, MatchPolicy), Refusal> {
        let policy = match_policy(options)?;
        self.check(topic, policy, Action::Subscribe)?;
        let Some(b) = &self.realm.backplane else {
            return Ok((self.realm.broker.subscribe(self.me, topic, policy)?, policy));
        };
        // [ours] The interest changes with the broker, under its lock.
        let mut interest = b.interest();
        let s = self.realm.broker.subscribe(self.me, topic, policy)?;
        if s.created.is_some() {
            interest.add(topic, policy);
        }
        Ok((s, policy))
    }

    /// UNSUBSCRIBE: UNSUBSCRIBED, or `wamp.error.no_such_subscription`.
    pub(super) fn on_unsubscribe(&self, request: Id, subscription: Id) {
        let done = match &self.realm.backplane {
            None => self.realm.broker.unsubscribe(self.me.id, subscription),
            // [ours] The interest changes with the broker, under its lock.
            Some(b) => {
                let mut interest = b.interest();
                let u = self.realm.broker.unsubscribe(self.me.id, subscription);
                if let Some(u) = u.as_ref().filter(|u| u.deleted) {
                    interest.remove(&u.uri, u.policy);
                }
                u
            }
        };
        match done {
            Some(u) => {
                self.send(&Message::Unsubscribed { request });
                self.realm.events.on_unsubscribe(self.me.id, &u);
            }
            None => self.refuse(
                code::UNSUBSCRIBE,
                request,
                Refusal::new(
                    "wamp.error.no_such_subscription",
                    format!("this session has no subscription {subscription}"),
                ),
            ),
        }
    }
}
