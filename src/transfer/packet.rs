//! The packet types of the standard containers that do not cross as
//! themselves. They are opaque: made by [`Transfer::pack`](super::Transfer::pack),
//! consumed by [`Transfer::unpack`](super::Transfer::unpack), and `Send`.
//!
//! ```
//! use std::rc::Rc;
//! use subinterp::transfer::{packet::Node, Pack, Transfer};
//! let packet: Node<u8> = Rc::new(1u8).pack(&mut Pack::new());
//! std::thread::spawn(move || drop(packet)).join().unwrap(); // it is Send
//! ```

use std::fmt;

/// The packet of an `Rc<T>`: the node's contents the first time it is met,
/// its index after that.
///
/// ```
/// use std::rc::Rc;
/// use subinterp::transfer::{packet::Node, Pack, Transfer};
/// let rc = Rc::new(String::from("x"));
/// let packet: Vec<Node<String>> = vec![Rc::clone(&rc), rc].pack(&mut Pack::new());
/// assert_eq!(packet.len(), 2);
/// ```
pub struct Node<P>(pub(crate) NodeRepr<P>);

pub(crate) enum NodeRepr<P> {
    New {
        id: u32,
        value: Box<P>,
        /// A `Weak` inside `value` points back at this node.
        cyclic: bool,
    },
    Seen(u32),
    /// A node that nothing else in the value refers to (packed from an `Rc`
    /// owned with no other strong or weak reference).
    Unshared(Box<P>),
}

/// The packet of an `rc::Weak<T>`.
///
/// ```
/// use std::rc::{Rc, Weak};
/// use subinterp::transfer::{packet::WeakNode, Pack, Transfer};
/// let packet: WeakNode<u8> = Weak::<u8>::new().pack(&mut Pack::new());
/// # drop(packet);
/// ```
pub struct WeakNode<P>(pub(crate) Option<Node<P>>);

/// The packet of a map or set (`HashMap`, `BTreeMap`, `HashSet`,
/// `BTreeSet`): the whole collection `W` when its entries cross as is,
/// else its entries `E` one by one.
///
/// ```
/// use std::collections::HashMap;
/// use subinterp::transfer::{packet::Collection, Pack, Transfer};
/// let map = HashMap::from([(1u8, String::from("one"))]);
/// let _packet: Collection<HashMap<u8, String>, (u8, String)> = map.pack(&mut Pack::new());
/// ```
pub struct Collection<W, E>(pub(crate) CollectionRepr<W, E>);

pub(crate) enum CollectionRepr<W, E> {
    Whole(W),
    Entries(Vec<E>),
}

impl<P> fmt::Debug for Node<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            NodeRepr::New { id, .. } => write!(f, "Node::New({id})"),
            NodeRepr::Seen(id) => write!(f, "Node::Seen({id})"),
            NodeRepr::Unshared(_) => f.write_str("Node::Unshared"),
        }
    }
}

impl<P> fmt::Debug for WeakNode<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(node) => f.debug_tuple("WeakNode").field(node).finish(),
            None => f.write_str("WeakNode(dangling)"),
        }
    }
}

impl<W, E> fmt::Debug for Collection<W, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            CollectionRepr::Whole(_) => f.write_str("Collection::Whole(..)"),
            CollectionRepr::Entries(e) => write!(f, "Collection::Entries({})", e.len()),
        }
    }
}
