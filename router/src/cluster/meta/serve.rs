//! The answering side of the cluster-wide meta procedures: each realm's task that answers the
//! other nodes' requests with this node's part, cut in parts when NATS cannot take it whole.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;
use wamp::{Message, Payload, Serializer, Value};

use super::wire::answer_message;
use super::{ANSWER_TOO_LARGE, NATS_TIMEOUT};
use crate::cluster::{Cluster, names};
use crate::meta_procedures as procedures;
use crate::realm::Realm;
use crate::refusal::Refusal;

/// This node's answer to a request's body, if it is one: a RESULT or ERROR in msgpack, or —
/// a list (`stats` rows, ids) too large for one NATS message of at most `max` bytes (NATS's
/// `max_payload`) — its items in RESULTs that say `more`, then an empty one that does not.
/// An answer that cannot be cut small enough is the ERROR [`ANSWER_TOO_LARGE`].
fn answer_bodies(realm: &Realm, node: &str, body: &Bytes, max: usize) -> Option<Vec<Bytes>> {
    let Message::Call {
        request,
        options,
        procedure,
        payload,
    } = wamp::decode(Serializer::Msgpack, body).ok()?
    else {
        return None;
    };
    if !realm.config.enable_meta_api || !procedures::CLUSTER_WIDE.contains(&procedure.as_str()) {
        return None;
    }
    let caller = options.get("caller").and_then(Value::as_u64).unwrap_or(0);
    let answer = procedures::arguments(&payload).and_then(|(args, kwargs)| {
        procedures::session_procedure(realm, caller, &procedure, &args, &kwargs)
            .unwrap_or_else(|| Err(Refusal::invalid_argument("not a session procedure")))
    });
    let payload = match answer {
        Ok(p) => p,
        Err(r) => return Some(vec![answer_message(request, node, Err(r), false)]),
    };
    let whole = answer_message(request, node, Ok(payload.clone()), false);
    if whole.len() <= max {
        return Some(vec![whole]);
    }
    let items = match payload.args().ok().and_then(|a| a.into_iter().next()) {
        Some(Value::List(items)) => items,
        _ => Vec::new(),
    };
    let mut parts = Vec::new();
    let part = |items: &[Value]| {
        let p = Payload::from_args(vec![Value::List(items.to_vec())]);
        answer_message(request, node, Ok(p), true)
    };
    if items.is_empty() || !cut(&items, max, &part, &mut parts) {
        tracing::warn!(
            realm = %realm.name(),
            "cluster: this node's answer to {procedure} is {} bytes, more than NATS's \
             max_payload ({max}), and cannot be cut; the asking node goes without it",
            whole.len()
        );
        let too_large = Refusal::new(
            ANSWER_TOO_LARGE,
            format!(
                "the answer is {} bytes, more than NATS's max_payload ({max})",
                whole.len()
            ),
        );
        return Some(vec![answer_message(request, node, Err(too_large), false)]);
    }
    let last = Payload::from_args(vec![Value::List(Vec::new())]);
    parts.push(answer_message(request, node, Ok(last), false));
    Some(parts)
}

/// Cuts `items` into the fewest halves (and halves of halves) whose `part` is at most `max`
/// bytes, in order, into `out`; `false` if a single item is larger.
fn cut(
    items: &[Value],
    max: usize,
    part: &impl Fn(&[Value]) -> Bytes,
    out: &mut Vec<Bytes>,
) -> bool {
    let body = part(items);
    if body.len() <= max {
        out.push(body);
        return true;
    }
    if items.len() < 2 {
        return false;
    }
    let (left, right) = items.split_at(items.len() / 2);
    cut(left, max, part, out) && cut(right, max, part, out)
}

/// The realm's answering task, until `shutdown`: subscribes to `<prefix>.<realm>.meta.>` and
/// answers each request of another node with this node's part.
pub async fn serve(realm: Arc<Realm>, cluster: Cluster, shutdown: CancellationToken) {
    let client = tokio::select! {
        () = shutdown.cancelled() => return,
        c = cluster.client() => c,
    };
    let subject = format!(
        "{}.>",
        names::base(cluster.subject_prefix(), realm.name(), "meta")
    );
    let mut sub = loop {
        match tokio::time::timeout(NATS_TIMEOUT, client.subscribe(subject.clone())).await {
            Ok(Ok(s)) => break s,
            _ => tracing::warn!(
                realm = %realm.name(),
                "cluster: cannot subscribe to {subject} yet; the other nodes' meta calls get \
                 no answer from this node until it can"
            ),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    };
    loop {
        let msg = tokio::select! {
            () = shutdown.cancelled() => return,
            m = sub.next() => m,
        };
        let Some(msg) = msg else {
            tracing::error!(realm = %realm.name(), "cluster: the subscription to {subject} ended");
            return;
        };
        let Some(reply) = msg.reply.clone() else {
            continue;
        };
        let max = client.server_info().max_payload;
        let Some(bodies) = answer_bodies(&realm, cluster.node(), &msg.payload, max) else {
            tracing::debug!("cluster: ignored a message on {}", msg.subject);
            continue;
        };
        for body in bodies {
            match tokio::time::timeout(NATS_TIMEOUT, client.publish(reply.clone(), body)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::debug!("cluster: an answer to {} was not sent: {e}", msg.subject);
                    break;
                }
                Err(_) => {
                    tracing::debug!("cluster: an answer to {} timed out", msg.subject);
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use wamp::{Dict, Id};

    use super::super::merge::Merge;
    use super::super::wire::{NodeAnswer, Opened, open_answer, request_body};
    use super::*;
    use crate::config::RealmConfig;
    use crate::meta_procedures::NO_SUCH_SESSION;
    use crate::options::RouterOptions;
    use crate::session_handle::testing::handle;

    /// What `realm` answers to a request of `procedure` with `args` by session `caller`, in
    /// NATS messages of at most `max` bytes: the last part (the whole answer, but for a cut
    /// list), and every part.
    fn answered(
        realm: &Realm,
        caller: Id,
        procedure: &str,
        args: Vec<Value>,
        max: usize,
    ) -> Option<(NodeAnswer, Vec<Opened>)> {
        let body = request_body(5, caller, procedure, args, Dict::new());
        let bodies = answer_bodies(realm, "node-b", &body, max)?;
        if bodies.len() > 1 {
            assert!(
                bodies.iter().all(|b| b.len() <= max),
                "parts of {max} bytes"
            );
        }
        let parts: Vec<Opened> = bodies
            .iter()
            .map(|b| open_answer(b).expect("an answer"))
            .collect();
        let (last, before) = parts.split_last().expect("one part at least");
        assert!(!last.more && before.iter().all(|p| p.more), "{parts:?}");
        assert!(parts.iter().all(|p| p.node == "node-b"));
        Some((last.answer.clone(), parts))
    }

    #[test]
    fn a_node_answers_with_its_own_sessions_and_spares_the_caller() {
        let realm = Realm::new(RealmConfig::named("realm1"), None);
        let limits = RouterOptions::default().limits();
        let ids: Vec<Id> = (0..3)
            .map(|_| {
                realm
                    .attach(wamp::id::random_id(), "", |id| {
                        handle(id, "user", Default::default(), limits).0
                    })
                    .expect("attached")
                    .id
            })
            .collect();
        let max = 1 << 20;
        let answer = |caller, procedure, args| answered(&realm, caller, procedure, args, max);
        let (count, _) = answer(1, "wamp.session.count", vec![]).expect("answered");
        assert_eq!(count.unwrap().args().unwrap(), vec![Value::from(3u64)]);
        let (not_mine, _) = answer(1, "wamp.session.get", vec![7u64.into()]).expect("answered");
        assert_eq!(not_mine, Err(NO_SUCH_SESSION.to_owned()));
        assert!(
            answer(1, "wampstat.cluster.status", vec![]).is_none(),
            "not a cluster-wide procedure"
        );

        // The stats rows in parts of at most one row; a row larger than a message: an error.
        let (whole, parts) = answer(1, "wampstat.session.stats", vec![]).expect("answered");
        assert_eq!(parts.len(), 1);
        let row_max = answer_message(5, "node-b", Ok(whole.unwrap()), true).len() / 2;
        let (_, parts) =
            answered(&realm, 1, "wampstat.session.stats", vec![], row_max).expect("answered");
        let rows = Merge::Rows
            .merge(
                &parts
                    .into_iter()
                    .map(|p| p.answer.unwrap())
                    .collect::<Vec<_>>(),
            )
            .expect("rows");
        let Some(Value::List(rows)) = rows.args().unwrap().into_iter().next() else {
            panic!("a list of rows");
        };
        let mut want = ids.clone();
        want.sort_unstable();
        let got: Vec<Id> = rows
            .iter()
            .filter_map(|r| r.get("session").and_then(Value::as_u64))
            .collect();
        assert_eq!(got, want);
        let (too_large, _) =
            answered(&realm, 1, "wampstat.session.stats", vec![], 64).expect("answered");
        assert_eq!(too_large, Err(ANSWER_TOO_LARGE.to_owned()));

        let (killed, _) = answer(ids[0], "wamp.session.kill_all", vec![]).expect("answered");
        assert_eq!(killed.unwrap().args().unwrap(), vec![Value::from(2u64)]);
    }
}
