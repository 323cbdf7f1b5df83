//! Long-poll: park a request until a message arrives on a topic or a timeout passes, and
//! a broadcast [`Hub`] of topics.
//!
//! Publishing never waits: it appends to the topic's short history and wakes every parked
//! request; each one takes the messages after the id it already has. A slow or gone client
//! holds nobody up, and one that comes back late catches up from the history (or sees a gap
//! in the ids when it fell further behind than the history keeps).
//!
//! ```no_run
//! use std::time::Duration;
//! use h1_server::{Request, Response};
//! use h1_stream::longpoll::{self, Hub};
//!
//! async fn poll(req: Request, hub: Hub<String>) -> Response {
//!     let after = req.query_pairs().get("after").and_then(|a| a.parse().ok());
//!     longpoll::respond(&hub, "news", after, Duration::from_secs(25), |messages| {
//!         let text: String = messages.iter().map(|m| format!("{} {}\n", m.id, m.value)).collect();
//!         Response::text(200, text)
//!     })
//!     .await
//! }
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_io::Timer;
use event_listener::Event;
use futures_lite::FutureExt;
use h1_server::Response;

/// A message on a topic, with its id (1, 2, 3, ... per topic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<T> {
    /// Its id within the topic, counting from 1.
    pub id: u64,
    /// What was published.
    pub value: T,
}

/// Topics of messages that parked requests and subscribers wait on. Cheap to clone; every
/// clone is the same hub. Topics appear when first used and disappear when they have no
/// history and nobody waits on them.
///
/// ```
/// use std::time::Duration;
/// use futures_lite::future::block_on;
/// use h1_stream::longpoll::Hub;
///
/// let hub = Hub::new();
/// let after = hub.last_id("chat");
/// hub.publish("chat", "hello".to_string());
/// let got = block_on(hub.wait("chat", Some(after), Duration::from_secs(1)));
/// assert_eq!(got[0].value, "hello");
/// ```
pub struct Hub<T> {
    inner: Arc<HubInner<T>>,
}

struct HubInner<T> {
    topics: Mutex<HashMap<String, Topic<T>>>,
    history: usize,
}

struct Topic<T> {
    /// The id of the last message published (0: none yet).
    last: u64,
    /// The most recent messages, oldest first.
    log: VecDeque<Message<T>>,
    /// Woken on publish.
    event: Arc<Event>,
    /// Requests waiting now (the topic stays while any does).
    waiters: usize,
}

impl<T: Clone> Hub<T> {
    /// A hub keeping the last 64 messages of each topic.
    pub fn new() -> Self {
        Self::with_history(64)
    }

    /// A hub keeping the last `history` messages of each topic (at least 1), for clients
    /// that come back to poll after a message went out.
    pub fn with_history(history: usize) -> Self {
        Self {
            inner: Arc::new(HubInner {
                topics: Mutex::new(HashMap::new()),
                history: history.max(1),
            }),
        }
    }

    /// Publish `value` on `topic` and wake everyone waiting on it. Never waits. Returns
    /// the message's id.
    pub fn publish(&self, topic: &str, value: T) -> u64 {
        let mut topics = self.lock();
        let t = topics.entry(topic.to_owned()).or_default();
        t.last += 1;
        let id = t.last;
        if t.log.len() == self.inner.history {
            t.log.pop_front();
        }
        t.log.push_back(Message { id, value });
        let event = t.event.clone();
        drop(topics);
        event.notify(usize::MAX);
        id
    }

    /// The id of the last message on `topic` (0 if none yet): wait after it for only new
    /// messages.
    pub fn last_id(&self, topic: &str) -> u64 {
        self.lock().get(topic).map_or(0, |t| t.last)
    }

    /// The messages on `topic` after id `after` that the history still has, without
    /// waiting.
    pub fn since(&self, topic: &str, after: u64) -> Vec<Message<T>> {
        self.lock()
            .get(topic)
            .map_or_else(Vec::new, |t| t.since(after))
    }

    /// Wait until `topic` has messages after id `after` (`None`: after the last one now)
    /// and return them, or return an empty list when `timeout` passes first.
    pub async fn wait(
        &self,
        topic: &str,
        after: Option<u64>,
        timeout: Duration,
    ) -> Vec<Message<T>> {
        let after = after.unwrap_or_else(|| self.last_id(topic));
        let waiting = self.wait_after(topic, after);
        waiting
            .or(async {
                Timer::after(timeout).await;
                Vec::new()
            })
            .await
    }

    /// Follow `topic` from after id `after` (`None`: from now on), for streaming
    /// subscribers such as an SSE producer.
    pub fn subscribe(&self, topic: &str, after: Option<u64>) -> Subscription<T> {
        Subscription {
            after: after.unwrap_or_else(|| self.last_id(topic)),
            topic: topic.to_owned(),
            hub: self.clone(),
        }
    }

    /// How many topics exist now.
    pub fn topic_count(&self) -> usize {
        self.lock().len()
    }

    async fn wait_after(&self, topic: &str, after: u64) -> Vec<Message<T>> {
        let _guard = WaitGuard::new(self, topic);
        loop {
            let listener = {
                let topics = self.lock();
                let t = topics
                    .get(topic)
                    .expect("the wait guard keeps the topic while it waits");
                let got = t.since(after);
                if !got.is_empty() {
                    return got;
                }
                t.event.listen()
            };
            listener.await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Topic<T>>> {
        // Plain data, left consistent between statements.
        self.inner.topics.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T> Clone for Hub<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Clone> Default for Hub<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Hub<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let topics = self.inner.topics.lock().map_or(0, |t| t.len());
        f.debug_struct("Hub")
            .field("topics", &topics)
            .field("history", &self.inner.history)
            .finish()
    }
}

impl<T: Clone> Topic<T> {
    fn since(&self, after: u64) -> Vec<Message<T>> {
        if after >= self.last {
            return Vec::new();
        }
        self.log.iter().filter(|m| m.id > after).cloned().collect()
    }
}

impl<T> Default for Topic<T> {
    fn default() -> Self {
        Self {
            last: 0,
            log: VecDeque::new(),
            event: Arc::new(Event::new()),
            waiters: 0,
        }
    }
}

/// Counts a waiter on a topic; removes the topic when it has nothing left to keep.
struct WaitGuard<'a, T: Clone> {
    hub: &'a Hub<T>,
    topic: &'a str,
}

impl<'a, T: Clone> WaitGuard<'a, T> {
    fn new(hub: &'a Hub<T>, topic: &'a str) -> Self {
        hub.lock().entry(topic.to_owned()).or_default().waiters += 1;
        Self { hub, topic }
    }
}

impl<T: Clone> Drop for WaitGuard<'_, T> {
    fn drop(&mut self) {
        let mut topics = self.hub.lock();
        if let Some(t) = topics.get_mut(self.topic) {
            t.waiters -= 1;
            if t.waiters == 0 && t.log.is_empty() {
                topics.remove(self.topic);
            }
        }
    }
}

/// Follows one topic of a [`Hub`]: [`next`](Self::next) returns the messages after the
/// ones already returned.
pub struct Subscription<T> {
    hub: Hub<T>,
    topic: String,
    after: u64,
}

impl<T: Clone> Subscription<T> {
    /// Wait for the next messages (one or more, oldest first). When this subscriber fell
    /// further behind than the hub's history, the ids show a gap.
    pub async fn next(&mut self) -> Vec<Message<T>> {
        let got = self.hub.wait_after(&self.topic, self.after).await;
        if let Some(last) = got.last() {
            self.after = last.id;
        }
        got
    }

    /// The id of the last message returned (or the starting point).
    pub fn last_id(&self) -> u64 {
        self.after
    }
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .field("after", &self.after)
            .finish()
    }
}

/// Park the request until `topic` has messages after id `after` (`None`: new ones only),
/// then answer with `render(messages)`; after `timeout`, answer `204 No Content`. Both
/// carry `Cache-Control: no-cache`.
///
/// ```no_run
/// # async fn f(hub: h1_stream::longpoll::Hub<String>) -> h1_server::Response {
/// use std::time::Duration;
/// use h1_server::Response;
///
/// h1_stream::longpoll::respond(&hub, "chat", None, Duration::from_secs(25), |m| {
///     Response::text(200, m.iter().map(|m| m.value.clone() + "\n").collect::<String>())
/// })
/// .await
/// # }
/// ```
pub async fn respond<T, F>(
    hub: &Hub<T>,
    topic: &str,
    after: Option<u64>,
    timeout: Duration,
    render: F,
) -> Response
where
    T: Clone,
    F: FnOnce(&[Message<T>]) -> Response,
{
    let messages = hub.wait(topic, after, timeout).await;
    let response = if messages.is_empty() {
        Response::empty(204)
    } else {
        render(&messages)
    };
    response.header("Cache-Control", "no-cache")
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;
    use std::time::Instant;

    #[test]
    fn history_is_bounded_and_ids_count_up() {
        let hub = Hub::with_history(2);
        for i in 0..5 {
            assert_eq!(hub.publish("t", i), i + 1);
        }
        let got = hub.since("t", 0);
        assert_eq!(got.iter().map(|m| m.id).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(hub.since("t", 5), []);
        assert_eq!(hub.last_id("t"), 5);
        assert_eq!(hub.last_id("other"), 0);
    }

    #[test]
    fn wait_times_out_empty_and_forgets_the_topic() {
        let hub: Hub<u32> = Hub::new();
        let t0 = Instant::now();
        let got = block_on(hub.wait("quiet", None, Duration::from_millis(50)));
        assert!(got.is_empty());
        assert!(t0.elapsed() >= Duration::from_millis(50));
        assert_eq!(hub.topic_count(), 0);
    }

    #[test]
    fn wait_returns_history_at_once() {
        let hub = Hub::new();
        hub.publish("t", "a");
        let got = block_on(hub.wait("t", Some(0), Duration::from_secs(5)));
        assert_eq!(got, [Message { id: 1, value: "a" }]);
    }

    #[test]
    fn publish_wakes_every_waiter() {
        let hub = Hub::new();
        let waiters: Vec<_> = (0..50)
            .map(|_| {
                let hub = hub.clone();
                std::thread::spawn(move || block_on(hub.wait("t", Some(0), Duration::from_secs(5))))
            })
            .collect();
        // Let them park (bounded), then publish once.
        let t0 = Instant::now();
        while hub.lock().get("t").map_or(0, |t| t.waiters) < 50 {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "waiters did not park"
            );
            std::thread::yield_now();
        }
        hub.publish("t", 7);
        for w in waiters {
            assert_eq!(w.join().unwrap(), [Message { id: 1, value: 7 }]);
        }
    }

    #[test]
    fn subscription_follows_in_order() {
        let hub = Hub::new();
        let mut sub = hub.subscribe("t", None);
        hub.publish("t", 1);
        hub.publish("t", 2);
        assert_eq!(block_on(sub.next()).len(), 2);
        hub.publish("t", 3);
        assert_eq!(block_on(sub.next())[0].value, 3);
        assert_eq!(sub.last_id(), 3);
    }
}
