//! PUBLISH, SUBSCRIBE and UNSUBSCRIBE: parse the options → check the URI → the broker → reply
//! (and the lifecycle meta events, after the reply).

use wamp::message::code;
use wamp::{Dict, Id, MatchPolicy, Message, Payload};

use super::dispatch::Joined;
use super::options::{flag, flag_or, match_policy};
use crate::authorize::Action;
use crate::broker::{Filter, Identity, Publication, Subscribed};
use crate::refusal::Refusal;

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
            filter: Filter::from_options(options),
            passive: false,
        };
        Ok(self.realm.broker.publish(&Identity::from(&**self.me), &p))
    }

    /// SUBSCRIBE: SUBSCRIBED (the subscription shared by everyone on the same URI and policy).
    pub(super) fn on_subscribe(&self, request: Id, options: &Dict, topic: &str) {
        match self.subscribe(options, topic) {
            Ok((s, policy)) => {
                self.send(&Message::Subscribed {
                    request,
                    subscription: s.id,
                });
                self.realm
                    .events
                    .on_subscribe(self.me.id, s.id, topic, policy, s.created);
            }
            Err(r) => self.refuse(code::SUBSCRIBE, request, r),
        }
    }

    fn subscribe(&self, options: &Dict, topic: &str) -> Result<(Subscribed, MatchPolicy), Refusal> {
        let policy = match_policy(options)?;
        self.check(topic, policy, Action::Subscribe)?;
        Ok((self.realm.broker.subscribe(self.me, topic, policy)?, policy))
    }

    /// UNSUBSCRIBE: UNSUBSCRIBED, or `wamp.error.no_such_subscription`.
    pub(super) fn on_unsubscribe(&self, request: Id, subscription: Id) {
        match self.realm.broker.unsubscribe(self.me.id, subscription) {
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
