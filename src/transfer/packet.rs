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

use std::any::{Any, TypeId};
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
    /// A node reached first here, with no `Rc` inside its contents: the
    /// contents in their own box.
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
    /// An outermost node with `Rc`s inside its contents: the contents of
    /// every node below it travel in its [`Arenas`], one buffer per packet
    /// type, instead of one box per node.
    Root(Box<Root<P>>),
    /// A node below a [`Root`](NodeRepr::Root): its contents are entry `slot`
    /// of the root's arena for `P`, which is arena number `arena`. `id` is
    /// [`UNSHARED`] for a node with a single reference.
    Stashed {
        id: u32,
        slot: u32,
        arena: u32,
        cyclic: bool,
    },
}

/// The `id` of a [`NodeRepr::Stashed`] node that has no index.
pub(crate) const UNSHARED: u32 = u32::MAX;

pub(crate) struct Root<P> {
    /// [`UNSHARED`] or the node's index.
    pub(crate) id: u32,
    pub(crate) value: P,
    pub(crate) cyclic: bool,
    pub(crate) arenas: Arenas,
}

/// The contents of the nodes below one root, by packet type: entry `i` of
/// the arena for `P` is `Some` until the node that refers to it unpacks it.
/// The elements of the `Vec`s inside those nodes (and inside the root) travel
/// here too, as [`Run`]s: their packet is an empty `Vec`.
/// A few buffers per graph, where one box (or `Vec` buffer) per node would
/// cost a `malloc` in the sender and a cross-thread `free` in the receiver
/// for each node.
#[derive(Default)]
pub(crate) struct Arenas {
    pub(crate) buffers: Vec<Arena>,
    /// The element runs of the `Vec`s packed below the root, in the order
    /// they were packed (which is the order they unpack in).
    pub(crate) runs: Vec<Run>,
    /// The next run to unpack.
    pub(crate) next_run: usize,
}

/// The elements of one `Vec` packed inside a node: entries
/// `start..start + len` of arena number `arena`.
#[derive(Clone, Copy)]
pub(crate) struct Run {
    pub(crate) arena: u32,
    pub(crate) start: u32,
    pub(crate) len: u32,
}

/// A `Vec<Option<P>>` with its type erased (a lookup is one `downcast`),
/// and the functions that clear and measure it.
pub(crate) struct Arena {
    tid: TypeId,
    slots: Box<dyn Any + Send>,
    clear: fn(&mut (dyn Any + Send)),
    capacity: fn(&(dyn Any + Send)) -> usize,
}

impl Arena {
    fn new<P: Send + 'static>() -> Arena {
        fn clear<P: Send + 'static>(slots: &mut (dyn Any + Send)) {
            if let Some(slots) = slots.downcast_mut::<Vec<Option<P>>>() {
                // After a complete unpack every entry is `None`: popping
                // checks each one inline, where `Vec::clear` would call
                // the packet's drop glue once per entry.
                while let Some(entry) = slots.pop() {
                    if entry.is_some() {
                        drop(entry);
                    }
                }
            }
        }
        fn capacity<P: Send + 'static>(slots: &(dyn Any + Send)) -> usize {
            slots
                .downcast_ref::<Vec<Option<P>>>()
                .map_or(0, Vec::capacity)
        }
        Arena {
            tid: TypeId::of::<P>(),
            slots: Box::new(Vec::<Option<P>>::new()),
            clear: clear::<P>,
            capacity: capacity::<P>,
        }
    }
}

impl Arenas {
    /// The number of the arena for packet type `P`, made if there is none.
    #[inline]
    pub(crate) fn index<P: Send + 'static>(&mut self) -> usize {
        let tid = TypeId::of::<P>();
        match self.buffers.iter().position(|a| a.tid == tid) {
            Some(i) => i,
            None => {
                self.buffers.push(Arena::new::<P>());
                self.buffers.len() - 1
            }
        }
    }

    /// Arena number `i`, if it holds packets of type `P`.
    #[inline]
    pub(crate) fn at<P: Send + 'static>(&mut self, i: usize) -> Option<&mut Vec<Option<P>>> {
        self.buffers.get_mut(i)?.slots.downcast_mut()
    }

    /// Arena number `i`, which [`index`](Arenas::index) made for `P`.
    #[inline]
    pub(crate) fn slots<P: Send + 'static>(&mut self, i: usize) -> &mut Vec<Option<P>> {
        self.at::<P>(i).expect("arena stored under its own TypeId")
    }

    /// The next run to unpack, if any is left.
    #[inline]
    pub(crate) fn next_run(&mut self) -> Option<Run> {
        let run = *self.runs.get(self.next_run)?;
        self.next_run += 1;
        Some(run)
    }

    /// Empties every arena, keeping the buffers for reuse.
    pub(crate) fn clear(&mut self) {
        for arena in &mut self.buffers {
            (arena.clear)(&mut *arena.slots);
        }
        self.runs.clear();
        self.next_run = 0;
    }

    /// The entries the buffers can hold, summed.
    pub(crate) fn capacity(&self) -> usize {
        let slots: usize = self.buffers.iter().map(|a| (a.capacity)(&*a.slots)).sum();
        slots + self.runs.capacity()
    }
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
            NodeRepr::Root(root) if root.id == UNSHARED => f.write_str("Node::Root"),
            NodeRepr::Root(root) => write!(f, "Node::Root({})", root.id),
            NodeRepr::Stashed { id: UNSHARED, .. } => f.write_str("Node::Stashed"),
            NodeRepr::Stashed { id, .. } => write!(f, "Node::Stashed({id})"),
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
