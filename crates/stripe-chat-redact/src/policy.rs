//! The [`RedactionPolicy`] trait and ways to combine policies.

use std::fmt;
use std::sync::Arc;

use stripe_chat_message::ChatMessage;

/// Rewrites a [`ChatMessage`] before an adapter renders it, hiding what the channel must not see.
///
/// A policy takes the message by value and returns the rewritten message, so it can drop fields or
/// rewrite text without copying what it keeps. Implemented for:
/// - [`DefaultPolicy`](crate::DefaultPolicy), the configurable policy of stripe-chat;
/// - closures `Fn(ChatMessage) -> ChatMessage + Send + Sync`;
/// - `Box<dyn RedactionPolicy>` and `Arc<dyn RedactionPolicy>`;
/// - [`Then`] (built by [`RedactionPolicy::then`]) and [`Chain`], which apply policies in order.
///
/// ```
/// use stripe_chat_message::ChatMessage;
/// use stripe_chat_redact::{DefaultPolicy, RedactionPolicy, Visibility};
///
/// let no_tags = |mut m: ChatMessage| { m.tags.clear(); m };
/// let policy = DefaultPolicy::new(Visibility::Public).then(no_tags);
/// let message = ChatMessage::new("Paid with 4242 4242 4242 4242").tag("one-time");
/// let redacted = policy.redact(message);
/// assert_eq!(redacted.title, "Paid with •••• 4242");
/// assert!(redacted.tags.is_empty());
/// ```
pub trait RedactionPolicy: Send + Sync {
    /// The message as the channel may see it.
    ///
    /// ```
    /// use stripe_chat_message::ChatMessage;
    /// use stripe_chat_redact::{DefaultPolicy, RedactionPolicy};
    ///
    /// let m = DefaultPolicy::default().redact(ChatMessage::new("Reply to jenny@example.com"));
    /// assert_eq!(m.title, "Reply to j•••@example.com");
    /// ```
    fn redact(&self, message: ChatMessage) -> ChatMessage;

    /// This policy, then `next` on its result.
    ///
    /// ```
    /// use stripe_chat_message::ChatMessage;
    /// use stripe_chat_redact::RedactionPolicy;
    ///
    /// let shout = |mut m: ChatMessage| { m.title = m.title.to_uppercase(); m };
    /// let exclaim = |mut m: ChatMessage| { m.title.push('!'); m };
    /// assert_eq!(shout.then(exclaim).redact(ChatMessage::new("paid")).title, "PAID!");
    /// ```
    fn then<P>(self, next: P) -> Then<Self, P>
    where
        Self: Sized,
        P: RedactionPolicy,
    {
        Then {
            first: self,
            second: next,
        }
    }
}

impl<F> RedactionPolicy for F
where
    F: Fn(ChatMessage) -> ChatMessage + Send + Sync,
{
    fn redact(&self, message: ChatMessage) -> ChatMessage {
        self(message)
    }
}

impl RedactionPolicy for Box<dyn RedactionPolicy> {
    fn redact(&self, message: ChatMessage) -> ChatMessage {
        (**self).redact(message)
    }
}

impl RedactionPolicy for Arc<dyn RedactionPolicy> {
    fn redact(&self, message: ChatMessage) -> ChatMessage {
        (**self).redact(message)
    }
}

/// Two policies applied one after the other; built by [`RedactionPolicy::then`].
///
/// ```
/// use stripe_chat_message::ChatMessage;
/// use stripe_chat_redact::{DefaultPolicy, RedactionPolicy, Then};
///
/// let drop_footer = |mut m: ChatMessage| { m.footer = None; m };
/// let policy: Then<DefaultPolicy, _> = DefaultPolicy::default().then(drop_footer);
/// assert_eq!(policy.redact(ChatMessage::new("t").footer("f")).footer, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Then<A, B> {
    first: A,
    second: B,
}

impl<A, B> Then<A, B> {
    /// The two policies, first and second.
    ///
    /// ```
    /// use stripe_chat_redact::{DefaultPolicy, RedactionPolicy, Visibility};
    ///
    /// let both = DefaultPolicy::new(Visibility::Internal).then(DefaultPolicy::new(Visibility::Public));
    /// let (first, second) = both.into_parts();
    /// assert_eq!((first.level(), second.level()), (Visibility::Internal, Visibility::Public));
    /// ```
    pub fn into_parts(self) -> (A, B) {
        (self.first, self.second)
    }
}

impl<A: RedactionPolicy, B: RedactionPolicy> RedactionPolicy for Then<A, B> {
    fn redact(&self, message: ChatMessage) -> ChatMessage {
        self.second.redact(self.first.redact(message))
    }
}

/// Any number of policies, applied in order; an empty chain returns the message unchanged.
///
/// ```
/// use stripe_chat_message::ChatMessage;
/// use stripe_chat_redact::{Chain, DefaultPolicy, RedactionPolicy, Visibility};
///
/// let chain = Chain::new()
///     .with(DefaultPolicy::new(Visibility::Internal))
///     .with(|mut m: ChatMessage| { m.summary.clear(); m });
/// assert_eq!(chain.len(), 2);
/// let m = chain.redact(ChatMessage::new("Card 5555-5555-5555-4444").summary("secret"));
/// assert_eq!((m.title.as_str(), m.summary.as_str()), ("Card •••• 4444", ""));
/// ```
#[derive(Default)]
pub struct Chain {
    policies: Vec<Box<dyn RedactionPolicy>>,
}

impl Chain {
    /// An empty chain.
    ///
    /// ```
    /// assert!(stripe_chat_redact::Chain::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Chain {
            policies: Vec::new(),
        }
    }

    /// The chain with `policy` appended.
    ///
    /// ```
    /// use stripe_chat_redact::{Chain, DefaultPolicy};
    /// assert_eq!(Chain::new().with(DefaultPolicy::default()).len(), 1);
    /// ```
    pub fn with(mut self, policy: impl RedactionPolicy + 'static) -> Self {
        self.push(policy);
        self
    }

    /// Appends `policy`.
    ///
    /// ```
    /// use stripe_chat_redact::{Chain, DefaultPolicy};
    /// let mut chain = Chain::new();
    /// chain.push(DefaultPolicy::default());
    /// assert_eq!(chain.len(), 1);
    /// ```
    pub fn push(&mut self, policy: impl RedactionPolicy + 'static) {
        self.policies.push(Box::new(policy));
    }

    /// How many policies the chain holds.
    ///
    /// ```
    /// assert_eq!(stripe_chat_redact::Chain::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether the chain holds no policy.
    ///
    /// ```
    /// assert!(stripe_chat_redact::Chain::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chain")
            .field("policies", &self.policies.len())
            .finish()
    }
}

impl RedactionPolicy for Chain {
    fn redact(&self, message: ChatMessage) -> ChatMessage {
        self.policies
            .iter()
            .fold(message, |message, policy| policy.redact(message))
    }
}

impl FromIterator<Box<dyn RedactionPolicy>> for Chain {
    fn from_iter<I: IntoIterator<Item = Box<dyn RedactionPolicy>>>(iter: I) -> Self {
        Chain {
            policies: iter.into_iter().collect(),
        }
    }
}

impl From<Vec<Box<dyn RedactionPolicy>>> for Chain {
    fn from(policies: Vec<Box<dyn RedactionPolicy>>) -> Self {
        Chain { policies }
    }
}

impl RedactionPolicy for Vec<Box<dyn RedactionPolicy>> {
    fn redact(&self, message: ChatMessage) -> ChatMessage {
        self.iter()
            .fold(message, |message, policy| policy.redact(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(suffix: &'static str) -> impl Fn(ChatMessage) -> ChatMessage + Send + Sync {
        move |mut m: ChatMessage| {
            m.title.push_str(suffix);
            m
        }
    }

    #[test]
    fn then_applies_the_first_policy_before_the_second() {
        let policy = append("a").then(append("b")).then(append("c"));
        assert_eq!(policy.redact(ChatMessage::new("")).title, "abc");
    }

    #[test]
    fn boxed_shared_and_listed_policies_are_policies() {
        let boxed: Box<dyn RedactionPolicy> = Box::new(append("a"));
        let shared: Arc<dyn RedactionPolicy> = Arc::new(append("b"));
        let listed: Vec<Box<dyn RedactionPolicy>> =
            vec![Box::new(append("c")), Box::new(append("d"))];
        let policy = boxed.then(shared).then(listed);
        assert_eq!(policy.redact(ChatMessage::new("")).title, "abcd");
    }

    #[test]
    fn chain_applies_policies_in_the_order_they_were_added() {
        let mut chain = Chain::new().with(append("a"));
        chain.push(append("b"));
        let collected: Chain = vec![Box::new(append("c")) as Box<dyn RedactionPolicy>]
            .into_iter()
            .collect();
        let chain = chain.with(collected);
        assert_eq!(chain.redact(ChatMessage::new("")).title, "abc");
        assert_eq!(format!("{chain:?}"), "Chain { policies: 3 }");
    }

    #[test]
    fn empty_chain_returns_the_message_unchanged() {
        let message = ChatMessage::new("Card 4242 4242 4242 4242");
        assert_eq!(Chain::default().redact(message.clone()), message);
    }

    #[test]
    fn policies_can_be_shared_across_threads() {
        let policy: Arc<dyn RedactionPolicy> = Arc::new(crate::DefaultPolicy::default());
        let handle = std::thread::spawn({
            let policy = Arc::clone(&policy);
            move || policy.redact(ChatMessage::new("4242424242424242")).title
        });
        assert_eq!(handle.join().unwrap(), "•••• 4242");
    }
}
