//! The transfer layer: how a value crosses from one subinterpreter to another.
//!
//! A value crosses in one of three ways, and the library counts which:
//!
//! - **shared**: an immutable value ([`Frozen<T>`], `Arc<T>`, `&'static T`)
//!   crosses as a new handle to the same allocation: O(1), zero bytes copied;
//! - **moved**: uniquely owned `Send` data (`Vec<u8>`, `String`, `Box<T>`, a
//!   `HashMap` of plain keys and values...) changes hands: O(1), the receiver
//!   gets the same heap buffer;
//! - **copied**: interpreter-local values (`Rc` graphs, and anything sent with
//!   [`Sender::send_copy`]) are deep-copied in the sender's interpreter and
//!   rebuilt in the receiver's: O(size). Two `Rc`s to one node stay one node
//!   on the other side.
//!
//! The [`Transfer`] trait says how a type crosses: [`pack`](Transfer::pack)
//! runs in the sender's interpreter and makes a `Send` *packet*;
//! [`unpack`](Transfer::unpack) runs in the receiver's and rebuilds the value.
//! [`transfer::bounded`](bounded) and [`transfer::unbounded`](unbounded) are
//! channels that do both for you, and count every transfer in
//! [`TransferStats`].
//!
//! ```
//! use std::{cell::RefCell, rc::Rc};
//! use subinterp::transfer::{self, Frozen};
//!
//! // An interpreter-local graph: two handles to one node.
//! let node = Rc::new(RefCell::new(vec![1u8, 2, 3]));
//! let pair = (Rc::clone(&node), Rc::clone(&node));
//!
//! let (tx, rx) = transfer::bounded::<(Rc<RefCell<Vec<u8>>>, Rc<RefCell<Vec<u8>>>)>(1);
//! tx.send_blocking(pair).unwrap(); // packed here...
//! let other_side = std::thread::spawn(move || {
//!     let (a, b) = rx.recv_blocking().unwrap(); // ...rebuilt there
//!     assert!(Rc::ptr_eq(&a, &b)); // sharing survives the copy
//!     a.borrow_mut().push(4);
//!     let len = b.borrow().len();
//!     len
//! });
//! assert_eq!(other_side.join().unwrap(), 4);
//! assert_eq!(node.borrow().len(), 3); // the original is untouched
//!
//! // A frozen buffer crosses zero-copy.
//! let (ftx, frx) = transfer::unbounded::<Frozen<Vec<u8>>>();
//! let big = Frozen::from(vec![0u8; 1 << 20]);
//! ftx.try_send(big.clone()).unwrap();
//! let got = frx.try_recv().unwrap();
//! assert!(Frozen::ptr_eq(&big, &got));
//! assert_eq!(ftx.stats().bytes_copied, 0);
//! ```
//!
//! Plain channels keep carrying any `T: Send`, moved. They refuse an `Rc`:
//! a `Sender<Rc<u8>>` is not `Send`, so it cannot reach another thread or
//! interpreter (use a transfer channel, which deep-copies it):
//!
//! ```compile_fail
//! use std::rc::Rc;
//! let (tx, rx) = subinterp::bounded::<Rc<u8>>(1);
//! std::thread::spawn(move || drop(tx)); // error: `Rc<u8>` cannot be sent between threads safely
//! # drop(rx);
//! ```
//!
//! ```
//! use std::rc::Rc;
//! let (tx, rx) = subinterp::transfer::bounded::<Rc<u8>>(1);
//! let sent = std::thread::spawn(move || tx.send_blocking(Rc::new(1)).is_ok());
//! assert!(sent.join().unwrap());
//! assert_eq!(*rx.recv_blocking().unwrap(), 1);
//! ```
//!
//! # Modes, type by type
//!
//! | type | `send(v)` | `send_copy(&v)` |
//! |---|---|---|
//! | `u8`…`u128`, `i8`…`i128`, `usize`, `isize`, `f32`, `f64`, `bool`, `char`, `()`, `Duration`, `Instant`, `PhantomData<T>` | bit copy | bit copy |
//! | `[T; N]`, tuples of up to 12 elements | bit copy when the elements are bit copies; element-wise otherwise | element-wise |
//! | `Option<T>`, `Result<T, E>` | as their contents | as their contents |
//! | `String`, `Box<str>` | **moved** | copied (`len` bytes) |
//! | `Vec<T>`, `Box<[T]>`, `VecDeque<T>` | **moved** (same buffer) when `T` crosses as is (bit copy, moved or shared); element-wise otherwise | copied (`len × size_of::<T>()` bytes, plus what the elements copy) |
//! | `Box<T>` | **moved** when `T` crosses as is; element-wise otherwise | copied (`size_of::<T>()` bytes) |
//! | `HashMap<K, V, S>`, `BTreeMap<K, V>`, `HashSet<T, S>`, `BTreeSet<T>` | **moved** (the whole map) when keys and values cross as is; rebuilt entry by entry otherwise | copied (`len × size_of` of an entry) |
//! | [`Frozen<T>`], `Arc<T>` (`T: Send + Sync`), `&'static T` (`T: Sync`) | **shared** | **shared** |
//! | `Rc<T>` (`T: DeepCopy`) | **copied** (`size_of::<T>()` bytes per node), sharing preserved | the same |
//! | `rc::Weak<T>` | **copied**: points to the copy of its target if the target crosses in the same value; dangling otherwise | the same |
//! | `RefCell<T>`, `Cell<T>` | as their contents (an owned cell has no other owner) | copied, as their contents (a `RefCell` must not be mutably borrowed) |
//! | [`subinterp::Sender`](crate::Sender), [`subinterp::Receiver`](crate::Receiver), transfer [`Sender`]/[`Receiver`] | **moved** | **shared** (a clone of the handle) |
//! | `#[derive(Transfer)]` structs and enums | field by field | field by field |
//!
//! A transfer as a whole is counted under its most expensive part: *copied*
//! if anything was deep-copied, else *moved* if a buffer or handle changed
//! hands, else *shared* if an immutable value was shared. A value made of bit
//! copies only counts as *moved* when sent and *copied* when sent with
//! `send_copy`. `bytes_copied` counts the bytes of heap data duplicated (the
//! column above); inline bits are not counted.
//!
//! ## How "moved when the contents are moved" costs nothing
//!
//! [`Transfer::AS_IS`] is an associated constant: `Some(mode)` says that the
//! packet of a type *is* the type, and that `pack`/`unpack` hand the value on
//! unchanged. A container whose elements cross as is (`Vec<u8>`,
//! `HashMap<String, u64>`, `Box<[Frozen<str>]>`) checks the constant (a
//! compile-time branch) and hands itself over whole: a `Vec<T>` is converted
//! to `Vec<T::Packet>` by a safe `Any` downcast between two identical types,
//! which the optimizer folds to nothing. No specialization and no `unsafe`.
//! Deep copies of bit-copy slices go through
//! [`DeepCopy::copy_slice`], which the primitives implement as one `memcpy`.
//!
//! ## `Rc` graphs: sharing is kept, strong cycles are rejected
//!
//! [`Pack`] keeps a map from each shared `Rc` allocation to an index. The
//! first time a node is reached its contents are packed; every later `Rc` (or
//! `Weak`) to the same node packs as its index, and [`Unpack`] hands out
//! clones of the one rebuilt node. A DAG therefore arrives as a DAG of the
//! same shape. (A node with a single reference cannot be reached twice and
//! skips the map: a tree pays nothing for it.) The contents of the nodes
//! below the outermost `Rc`, and the elements of the `Vec`s, boxed slices
//! and `VecDeque`s of local values inside the nodes, travel in one buffer
//! per packet type, carried by the outermost node's packet and reused from
//! one transfer to the next, rather than in a box or buffer per node: the
//! sender allocates nothing per node for them, and the receiver allocates
//! the nodes and those containers itself, so it frees none of them on the
//! sender's behalf. (Copied bytes, such as a `String` in a node, are still
//! allocated by the sender and kept by the receiver; maps in a node are
//! rebuilt from a buffer of their entries.)
//!
//! Cycles through `Weak` (parent pointers, the idiomatic way to make a cycle
//! of `Rc`s) are **preserved**: the node is rebuilt with `Rc::new_cyclic`,
//! and the `Weak`s inside it point at it.
//!
//! A cycle of *strong* `Rc`s (a node reachable from its own contents through
//! `Rc`s, e.g. through a `RefCell<Option<Rc<Node>>>`) is **rejected**: such a
//! cycle leaks on the sender side already, and safe Rust cannot build one in
//! a single pass. Packing it panics in the sender, before anything reaches
//! the channel, with a message that starts `subinterp::transfer: strong Rc
//! cycle`; use [`Pack::check_cycles`] to test a value first.
//!
//! Packing and unpacking recurse along `Rc` edges, so a graph may be as deep
//! as the thread's stack allows (as with a derived `Clone` or `Drop` of the
//! same graph): send a long linked list as a `Vec` instead.
//!
#![cfg_attr(feature = "derive", doc = "```should_panic")]
#![cfg_attr(not(feature = "derive"), doc = "```ignore")]
//! use std::{cell::RefCell, rc::Rc};
//! #[derive(subinterp::Transfer)]
//! struct Node { next: RefCell<Option<Rc<Node>>> }
//!
//! let a = Rc::new(Node { next: RefCell::new(None) });
//! *a.next.borrow_mut() = Some(Rc::clone(&a)); // a -> a
//! let (tx, _rx) = subinterp::transfer::unbounded::<Rc<Node>>();
//! tx.try_send(a).ok(); // panics: "subinterp::transfer: strong Rc cycle ..."
//! ```
//!
//! # Statistics
//!
//! Every transfer channel counts its transfers ([`Sender::stats`]); every
//! thread counts the transfers packed on it ([`thread_stats`]; an
//! interpreter runs on one thread, so these are the interpreter's); and
//! [`global_stats`] sums all threads, live and exited. Counting costs a
//! relaxed atomic add per channel and two thread-local stores.
//!
//! ```
//! use subinterp::transfer::{self, TransferStats};
//! let before = transfer::thread_stats();
//! let (tx, rx) = transfer::unbounded::<Vec<u8>>();
//! tx.try_send(vec![0; 64]).unwrap(); // moved
//! tx.try_send_copy(&vec![0; 64]).unwrap(); // copied: 64 bytes
//! assert_eq!(rx.try_iter().count(), 2);
//! let expect = TransferStats { shared: 0, moved: 1, copied: 1, bytes_copied: 64 };
//! assert_eq!(tx.stats(), expect);
//! assert_eq!(transfer::thread_stats() - before, expect);
//! ```

#![forbid(unsafe_code)]

mod channel;
mod frozen;
mod impls;
pub mod packet;
mod stats;

pub use channel::{
    bounded, unbounded, IntoIter, Iter, Receiver, RecvFuture, SendCopyFuture, SendFuture, Sender,
    TryIter,
};
pub use frozen::Frozen;
pub use stats::{global_stats, thread_stats, TransferStats};
pub(crate) use stats::{thread_counter, ThreadCounter};

/// `#[derive(Transfer)]`: implements [`Transfer`] and [`DeepCopy`] field by
/// field, for structs (named, tuple, unit) and enums.
///
/// The packet is a generated type with the same shape, each field replaced by
/// its packet. A field whose type has no `Transfer` is a compile error that
/// points at the field. Type parameters are supported (bounds are added per
/// field type); lifetime parameters are not, since a transferred value must
/// be `'static`. `#[transfer(move_only)]` on the type skips the `DeepCopy`
/// impl, for types with a field that can only be moved.
///
/// ```
/// use std::rc::Rc;
/// use subinterp::transfer::{Frozen, Packed};
///
/// #[derive(subinterp::Transfer, Debug, PartialEq)]
/// enum Msg<T> {
///     Data { id: u64, body: Vec<u8> },
///     Shared(Frozen<str>),
///     Local(Rc<T>),
///     Stop,
/// }
///
/// let m = Msg::<String>::Local(Rc::new("hi".to_string()));
/// let back = Packed::new(m).unpack();
/// assert_eq!(back, Msg::Local(Rc::new("hi".to_string())));
/// ```
///
/// A field without `Transfer` is rejected at compile time:
///
/// ```compile_fail
/// struct NotTransfer;
/// #[derive(subinterp::Transfer)]
/// struct Msg {
///     ok: u64,
///     bad: NotTransfer, // error: the trait `Transfer` is not implemented for `NotTransfer`
/// }
/// ```
#[cfg(feature = "derive")]
pub use subinterp_derive::Transfer;

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::marker::PhantomData;
use std::rc::{Rc, Weak};

use packet::{Arenas, Run};

/// How a type crosses an interpreter boundary: packed into a `Send` packet
/// in the sender's interpreter, unpacked from it in the receiver's.
///
/// Implementations exist for the standard types listed in the
/// [module table](self#modes-type-by-type); derive it for your own types with
/// `#[derive(Transfer)]` (feature `derive`, on by default).
///
/// Implementing it by hand: pack each part with `Transfer::pack`, record the
/// mode of anything you share, move or copy yourself with [`Pack::record`],
/// and unpack the parts in `unpack`, in the order they were packed (the
/// nodes of an `Rc` graph, and the `Vec`s inside them, are taken back in
/// packing order; unpacking them out of order panics or, for `Vec`s of one
/// type inside a node, gives each `Vec` another's elements).
///
/// ```
/// use subinterp::transfer::{Mode, Pack, Packed, Transfer, Unpack};
///
/// /// A handle that must be re-opened on the other side.
/// struct Port { number: u16 }
///
/// impl Transfer for Port {
///     type Packet = u16;
///     fn pack(self, cx: &mut Pack) -> u16 {
///         cx.record(Mode::Moved);
///         self.number
///     }
///     fn unpack(number: u16, _cx: &mut Unpack) -> Port {
///         Port { number }
///     }
/// }
///
/// assert_eq!(Packed::new(Port { number: 80 }).unpack().number, 80);
/// ```
pub trait Transfer: Sized + 'static {
    /// The form that crosses interpreters.
    type Packet: Send + 'static;

    /// `Some(mode)` if `Packet` is `Self` and `pack` and `unpack` return the
    /// value unchanged (after recording `mode`): then containers of this type
    /// cross whole, without touching their elements. `None` (the default)
    /// for everything else.
    ///
    /// ```
    /// use subinterp::transfer::{Mode, Transfer};
    /// assert_eq!(<u8 as Transfer>::AS_IS, Some(Mode::Bits));
    /// assert_eq!(<Vec<u8> as Transfer>::AS_IS, Some(Mode::Moved));
    /// assert_eq!(<std::rc::Rc<u8> as Transfer>::AS_IS, None);
    /// ```
    const AS_IS: Option<Mode> = None;

    /// Makes the packet, in the sender's interpreter.
    ///
    /// # Panics
    ///
    /// On a strong `Rc` cycle (see the [module docs](self#rc-graphs-sharing-is-kept-strong-cycles-are-rejected)).
    ///
    /// ```
    /// use subinterp::transfer::{Pack, Transfer, Unpack};
    /// let mut cx = Pack::new();
    /// let packet: Vec<u8> = vec![1u8, 2].pack(&mut cx);
    /// assert_eq!(Vec::<u8>::unpack(packet, &mut Unpack::new()), [1, 2]);
    /// ```
    fn pack(self, cx: &mut Pack) -> Self::Packet;

    /// Rebuilds the value from its packet, in the receiver's interpreter.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use subinterp::transfer::{Pack, Transfer, Unpack};
    /// let mut cx = Pack::new();
    /// let packet = Rc::new(5u32).pack(&mut cx);
    /// let rc: Rc<u32> = Transfer::unpack(packet, &mut Unpack::new());
    /// assert_eq!(*rc, 5);
    /// ```
    fn unpack(packet: Self::Packet, cx: &mut Unpack) -> Self;
}

/// A [`Transfer`] type that can also be packed from a shared reference: a
/// deep copy, where the sender keeps its value.
///
/// It is what `Rc<T>` needs of `T` (a node behind an `Rc` cannot be moved
/// out), and what [`Sender::send_copy`] and [`Packed::copy`] need. Every
/// implementation in this crate has it, and `#[derive(Transfer)]` implements
/// it too.
///
/// ```
/// use subinterp::transfer::{DeepCopy, Pack, Transfer, Unpack};
/// let v = vec![String::from("a"), String::from("b")];
/// let mut cx = Pack::new();
/// let packet = v.pack_copy(&mut cx); // v is still ours
/// assert_eq!(cx.bytes_copied(), 2 * 24 + 2); // the Vec's buffer, then each String's
/// let copy: Vec<String> = Transfer::unpack(packet, &mut Unpack::new());
/// assert_eq!(copy, v);
/// ```
pub trait DeepCopy: Transfer {
    /// Makes a packet from a shared reference, copying what cannot be shared.
    ///
    /// ```
    /// use subinterp::transfer::{DeepCopy, Pack};
    /// let mut cx = Pack::new();
    /// let s = String::from("abc");
    /// assert_eq!(s.pack_copy(&mut cx), "abc");
    /// assert_eq!(cx.bytes_copied(), 3);
    /// ```
    fn pack_copy(&self, cx: &mut Pack) -> Self::Packet;

    /// Packs the elements of a slice into a new buffer. The default packs
    /// them one by one; bit-copy types override it with one `memcpy`.
    /// Callers account for the buffer's bytes themselves.
    ///
    /// ```
    /// use subinterp::transfer::{DeepCopy, Pack};
    /// assert_eq!(u8::copy_slice(&[1, 2, 3], &mut Pack::new()), [1, 2, 3]);
    /// ```
    fn copy_slice(items: &[Self], cx: &mut Pack) -> Vec<Self::Packet> {
        items.iter().map(|x| x.pack_copy(cx)).collect()
    }
}

/// How (part of) a value crossed, from cheapest to most expensive.
///
/// ```
/// use subinterp::transfer::{Mode, Pack, Packed, Transfer};
/// let mut cx = Pack::new();
/// 7u64.pack(&mut cx);
/// assert_eq!(cx.mode(), Mode::Bits);
/// assert_eq!(Packed::new(7u64).mode(), Mode::Moved); // a whole transfer of bits is a move
/// assert_eq!(Packed::new(vec![7u8]).mode(), Mode::Moved);
/// assert_eq!(Packed::copy(&vec![7u8]).mode(), Mode::Copied);
/// assert!(Mode::Bits < Mode::Shared && Mode::Shared < Mode::Moved && Mode::Moved < Mode::Copied);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// Inline bits only (numbers, `bool`, `char`...): nothing on the heap.
    Bits,
    /// A new handle to the same immutable allocation.
    Shared,
    /// A buffer or handle changed hands; no bytes copied.
    Moved,
    /// Deep-copied: rebuilt in the receiver.
    Copied,
}

impl Mode {
    /// The more expensive of two modes (usable in constants).
    ///
    /// ```
    /// use subinterp::transfer::Mode;
    /// assert_eq!(Mode::Shared.max(Mode::Moved), Mode::Moved);
    /// ```
    pub const fn max(self, other: Mode) -> Mode {
        if (self as u8) >= (other as u8) {
            self
        } else {
            other
        }
    }

    /// The mode of a tuple or struct whose parts cross as `parts` say: as
    /// is (with the most expensive of their modes) if every part does,
    /// `None` otherwise. Usable in constants.
    ///
    /// ```
    /// use subinterp::transfer::Mode;
    /// assert_eq!(Mode::all_as_is(&[Some(Mode::Bits), Some(Mode::Shared)]), Some(Mode::Shared));
    /// assert_eq!(Mode::all_as_is(&[Some(Mode::Bits), None]), None);
    /// ```
    pub const fn all_as_is(parts: &[Option<Mode>]) -> Option<Mode> {
        let mut mode = Mode::Bits;
        let mut i = 0;
        while i < parts.len() {
            match parts[i] {
                Some(m) => mode = mode.max(m),
                None => return None,
            }
            i += 1;
        }
        Some(mode)
    }

    /// The mode of a container (`Vec`, `Box`, a map) of elements that cross
    /// as `element` says: moved whole if they cross as is.
    ///
    /// ```
    /// use subinterp::transfer::Mode;
    /// assert_eq!(Mode::container_of(Some(Mode::Bits)), Some(Mode::Moved));
    /// assert_eq!(Mode::container_of(None), None);
    /// ```
    pub const fn container_of(element: Option<Mode>) -> Option<Mode> {
        match element {
            Some(_) => Some(Mode::Moved),
            None => None,
        }
    }
}

/// The sender-side context of one transfer: the `Rc` pointer → index map that
/// keeps sharing, and the record of the mode and the bytes copied.
///
/// Make one per value (or use [`Packed`], or a transfer channel, which do);
/// unpack its packets with one [`Unpack`].
///
/// ```
/// use std::rc::Rc;
/// use subinterp::transfer::{Mode, Pack, Transfer};
/// let node = Rc::new(1u64);
/// let mut cx = Pack::new();
/// let _packet = (Rc::clone(&node), node).pack(&mut cx);
/// assert_eq!(cx.mode(), Mode::Copied);
/// assert_eq!(cx.bytes_copied(), 8); // one node, copied once
/// ```
pub struct Pack {
    mode: Mode,
    bytes: u64,
    /// Made when the first shared `Rc` is met: a value without one pays
    /// nothing for it.
    graph: Option<Box<Graph>>,
    /// Set by `check_cycles`: note a strong cycle instead of panicking.
    checking: bool,
    cycle: Option<&'static str>,
    /// How many `Rc` nodes' contents are being packed (nested): the
    /// outermost one takes the arenas of the nodes below it.
    depth: u32,
    /// Node contents stashed in `arenas` since the last outermost node.
    stashed: u32,
    /// Inside an `Rc` packed by value: indexed nodes are kept, to be freed
    /// in order when the pack ends ([`keep_node`](Pack::keep_node)).
    owned: bool,
    arenas: Arenas,
}

#[derive(Default)]
struct Graph {
    /// `Rc` allocation address → node index.
    index: HashMap<usize, u32, BuildHasherDefault<AddrHasher>>,
    /// Per node index: still being packed (its contents are on the stack),
    /// and whether a `Weak` inside its contents points back at it.
    nodes: Vec<NodeState>,
    /// The `Rc`s packed by value once a node was indexed, and handles to
    /// the indexed nodes inside them, kept alive until the pack ends and
    /// then dropped last first (see [`Pack::keep`], [`Pack::keep_node`]).
    /// Nodes packed by reference are not cloned here: a graph sent with
    /// `send_copy` costs no refcount traffic.
    keep: Vec<Rc<dyn Any>>,
}

#[derive(Clone, Copy)]
struct NodeState {
    building: bool,
    cyclic: bool,
}

/// What [`Pack::enter`] found for an `Rc` node.
pub(crate) enum Visit {
    /// First visit: pack the contents under this index, then call `leave`.
    New(u32),
    /// Already packed (or, for a `Weak`, being packed): refer to the index.
    Seen(u32),
}

impl Default for Pack {
    fn default() -> Self {
        Pack::new()
    }
}

impl Pack {
    /// A fresh context. It allocates nothing until it meets an `Rc`.
    ///
    /// ```
    /// let cx = subinterp::transfer::Pack::new();
    /// assert_eq!(cx.bytes_copied(), 0);
    /// ```
    pub fn new() -> Pack {
        Pack {
            mode: Mode::Bits,
            bytes: 0,
            graph: None,
            checking: false,
            cycle: None,
            depth: 0,
            stashed: 0,
            owned: false,
            arenas: Arenas::default(),
        }
    }

    /// Records that part of the value crossed in `mode`; the transfer counts
    /// under the most expensive mode recorded.
    ///
    /// ```
    /// use subinterp::transfer::{Mode, Pack};
    /// let mut cx = Pack::new();
    /// cx.record(Mode::Shared);
    /// cx.record(Mode::Moved);
    /// assert_eq!(cx.mode(), Mode::Moved);
    /// ```
    #[inline]
    pub fn record(&mut self, mode: Mode) {
        self.mode = self.mode.max(mode);
    }

    /// Records a deep copy of `bytes` bytes of heap data.
    ///
    /// ```
    /// use subinterp::transfer::{Mode, Pack};
    /// let mut cx = Pack::new();
    /// cx.copied(100);
    /// assert_eq!((cx.mode(), cx.bytes_copied()), (Mode::Copied, 100));
    /// ```
    #[inline]
    pub fn copied(&mut self, bytes: usize) {
        self.mode = Mode::Copied;
        self.bytes += bytes as u64;
    }

    /// The most expensive mode recorded so far ([`Mode::Bits`] if none).
    ///
    /// ```
    /// assert_eq!(subinterp::transfer::Pack::new().mode(), subinterp::transfer::Mode::Bits);
    /// ```
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The bytes of heap data deep-copied so far.
    ///
    /// ```
    /// use subinterp::transfer::{DeepCopy, Pack};
    /// let mut cx = Pack::new();
    /// vec![0u32; 10].pack_copy(&mut cx);
    /// assert_eq!(cx.bytes_copied(), 40);
    /// ```
    pub fn bytes_copied(&self) -> u64 {
        self.bytes
    }

    /// The number of distinct shared `Rc` nodes indexed so far. A node
    /// with a single reference (no other `Rc`, no `Weak`) cannot be met
    /// twice, so it is copied without an index and not counted here.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use subinterp::transfer::{Pack, Transfer};
    /// let shared = Rc::new(0u8);
    /// let mut cx = Pack::new();
    /// vec![Rc::clone(&shared), Rc::clone(&shared), Rc::new(1)].pack(&mut cx);
    /// assert_eq!(cx.nodes(), 1);
    /// ```
    pub fn nodes(&self) -> usize {
        self.graph.as_ref().map_or(0, |g| g.nodes.len())
    }

    /// Tests whether packing `value` would meet a strong `Rc` cycle (which
    /// [`Transfer::pack`] rejects with a panic), without packing it.
    /// It walks the value once, as [`DeepCopy::pack_copy`] would.
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use subinterp::transfer::Pack;
    /// let a: Rc<RefCell<Vec<Rc<RefCell<Vec<u8>>>>>> = Rc::new(RefCell::new(vec![]));
    /// assert!(Pack::check_cycles(&a).is_ok());
    /// ```
    pub fn check_cycles<T: DeepCopy>(value: &T) -> Result<(), CycleError> {
        let mut cx = Pack::new();
        cx.checking = true;
        drop(value.pack_copy(&mut cx));
        match cx.cycle {
            None => Ok(()),
            Some(type_name) => Err(CycleError { type_name }),
        }
    }

    /// Enters the `Rc` node `rc` for a strong reference. Panics on a node
    /// that is still being packed: a strong cycle.
    #[inline]
    pub(crate) fn enter<T: 'static>(&mut self, rc: &Rc<T>) -> Visit {
        match self.visit(rc) {
            (id, false) => Visit::New(id),
            (id, true) if self.graph().nodes[id as usize].building => {
                let type_name = std::any::type_name::<Rc<T>>();
                if !self.checking {
                    panic!(
                        "subinterp::transfer: strong Rc cycle: {type_name} is reachable from \
                         its own contents through strong references; such a graph cannot be \
                         rebuilt on the other side (and leaks here). Make the back edge a \
                         std::rc::Weak, which is preserved."
                    );
                }
                self.cycle.get_or_insert(type_name);
                Visit::Seen(id)
            }
            (id, true) => Visit::Seen(id),
        }
    }

    /// Enters the `Rc` node `rc` for a `Weak` reference: a node still being
    /// packed is fine (a parent pointer) and gets rebuilt with
    /// `Rc::new_cyclic`.
    pub(crate) fn enter_weak<T: 'static>(&mut self, rc: &Rc<T>) -> Visit {
        match self.visit(rc) {
            (id, false) => Visit::New(id),
            (id, true) => {
                let state = &mut self.graph().nodes[id as usize];
                if state.building {
                    state.cyclic = true;
                }
                Visit::Seen(id)
            }
        }
    }

    #[inline]
    fn visit<T: 'static>(&mut self, rc: &Rc<T>) -> (u32, bool) {
        let addr = Rc::as_ptr(rc) as *const () as usize;
        let graph = self.graph();
        let next = graph.nodes.len() as u32;
        match graph.index.entry(addr) {
            std::collections::hash_map::Entry::Occupied(e) => (*e.get(), true),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(next);
                graph.nodes.push(NodeState {
                    building: true,
                    cyclic: false,
                });
                (next, false)
            }
        }
    }

    #[inline]
    fn graph(&mut self) -> &mut Graph {
        if self.graph.is_none() {
            self.graph = Some(spare_graph());
        }
        self.graph.as_mut().expect("graph made above")
    }

    /// Takes `rc`, just packed by value, and keeps it alive until the pack
    /// ends if shared nodes have been indexed: then no address in the index
    /// is freed (and reused) within the transfer, and a later `Weak` to a
    /// node below `rc` still finds it. Before any node is indexed, nothing
    /// later can refer to `rc`'s nodes (a node with a `Weak` is always
    /// indexed), so it is dropped at once.
    ///
    /// Nodes packed by reference need no such handle: their owner outlives
    /// the pack. Only owners packed by value drop nodes mid-pack, and every
    /// by-value path through an `Rc` ends here.
    #[inline]
    pub(crate) fn keep<T: 'static>(&mut self, rc: Rc<T>) {
        match &mut self.graph {
            Some(graph) if !graph.nodes.is_empty() => graph.keep.push(rc as Rc<dyn Any>),
            _ => drop(rc),
        }
    }

    /// Starts packing an `Rc` by value (whose nodes this pack then drops);
    /// returns what to pass to [`leave_owned`](Pack::leave_owned).
    #[inline]
    pub(crate) fn enter_owned(&mut self) -> bool {
        std::mem::replace(&mut self.owned, true)
    }

    /// Ends what [`enter_owned`](Pack::enter_owned) started.
    #[inline]
    pub(crate) fn leave_owned(&mut self, outer: bool) {
        self.owned = outer;
    }

    /// Called after packing the contents of the indexed node `rc`: inside
    /// an `Rc` packed by value, keeps a handle to it, so that the end of the
    /// pack frees the nodes one by one, in the reverse of the order in which
    /// they were packed (parents before children). That is the reverse of
    /// the order in which an unpack of the same shape allocates them, so
    /// the allocator's last-in-first-out free lists hand this thread's next
    /// unpack the same blocks for the same nodes: a graph sent back and
    /// forth keeps its memory layout instead of scattering a little more
    /// with every crossing.
    #[inline]
    pub(crate) fn keep_node<T: 'static>(&mut self, rc: &Rc<T>) {
        if self.owned {
            self.graph().keep.push(Rc::clone(rc) as Rc<dyn Any>);
        }
    }

    /// Starts packing the contents of an `Rc` node; returns whether it is
    /// the outermost one (not inside another node's contents).
    #[inline]
    pub(crate) fn open_node(&mut self) -> bool {
        self.depth += 1;
        self.depth == 1
    }

    /// Ends what [`open_node`](Pack::open_node) started.
    #[inline]
    pub(crate) fn close_node(&mut self) {
        self.depth -= 1;
    }

    /// Whether the contents of an `Rc` node are being packed: then the
    /// elements of a `Vec` go to the arenas ([`pack_run`](Pack::pack_run)).
    #[inline]
    pub(crate) fn in_node(&self) -> bool {
        self.depth != 0
    }

    /// The arenas, loaded on first use with the arenas of the last packet
    /// this thread unpacked: in a ring, buffers go back and forth instead
    /// of being made anew.
    #[inline]
    fn arenas(&mut self) -> &mut Arenas {
        if self.arenas.buffers.capacity() == 0 && self.arenas.runs.capacity() == 0 {
            self.load_arenas();
        }
        &mut self.arenas
    }

    #[cold]
    fn load_arenas(&mut self) {
        self.arenas = SPARE_ARENAS
            .try_with(|a| a.take())
            .ok()
            .flatten()
            .unwrap_or_default();
    }

    /// Stores the packed contents of a node below the outermost one; returns
    /// the number of the arena for `P` and its slot there.
    #[inline]
    pub(crate) fn stash<P: Send + 'static>(&mut self, value: P) -> (u32, u32) {
        self.stashed += 1;
        let arenas = self.arenas();
        let index = arenas.index::<P>();
        let arena = arenas.slots::<P>(index);
        arena.push(Some(value));
        (index as u32, (arena.len() - 1) as u32)
    }

    /// Packs the elements of a `Vec` inside a node into the arena for `P`,
    /// as one run that [`Unpack::unpack_run`] takes back; the `Vec`'s own
    /// packet is then empty (no buffer is made here and freed there).
    pub(crate) fn pack_run<I, P>(
        &mut self,
        items: I,
        mut pack: impl FnMut(I::Item, &mut Pack) -> P,
    ) -> Vec<P>
    where
        I: ExactSizeIterator,
        P: Send + 'static,
    {
        let len = items.len();
        let arenas = self.arenas();
        let arena = arenas.index::<P>();
        let slots = arenas.slots::<P>(arena);
        let start = slots.len();
        // Reserved before packing the elements: the runs packed inside them
        // follow this one, in the order the unpack takes them.
        slots.extend((0..len).map(|_| None));
        arenas.runs.push(Run {
            arena: arena as u32,
            start: start as u32,
            len: len as u32,
        });
        self.stashed += 1;
        if len == 2 {
            // The common short run: both elements packed first, then
            // stored with one arena lookup instead of one per element.
            let mut items = items;
            let (Some(a), Some(b)) = (items.next(), items.next()) else {
                unreachable!("an ExactSizeIterator of length 2 yields two items")
            };
            let a = pack(a, self);
            let b = pack(b, self);
            let slots = self.arenas.slots::<P>(arena);
            // Reserved above (`None`) and written once: there is nothing to
            // drop, and forgetting the old entries skips the drop glue.
            let pair = &mut slots[start..start + 2];
            std::mem::forget(pair[0].replace(a));
            std::mem::forget(pair[1].replace(b));
            return Vec::new();
        }
        for (slot, item) in (start..).zip(items) {
            let packet = pack(item, self);
            match &mut self.arenas.slots::<P>(arena)[slot] {
                // Reserved above, and written once: nothing to drop.
                free @ None => *free = Some(packet),
                Some(_) => unreachable!("a run slot is written once"),
            }
        }
        Vec::new()
    }

    /// The arenas of the nodes stashed since the last outermost node, for
    /// the outermost node's packet; `None` if there are none.
    pub(crate) fn take_arenas(&mut self) -> Option<Arenas> {
        if self.stashed == 0 {
            return None;
        }
        self.stashed = 0;
        Some(std::mem::take(&mut self.arenas))
    }

    /// Leaves node `id` after packing its contents; returns whether a `Weak`
    /// inside them points back at it.
    #[inline]
    pub(crate) fn leave(&mut self, id: u32) -> bool {
        let state = &mut self.graph().nodes[id as usize];
        state.building = false;
        state.cyclic
    }
}

impl fmt::Debug for Pack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pack")
            .field("mode", &self.mode)
            .field("bytes_copied", &self.bytes)
            .field("nodes", &self.nodes())
            .finish()
    }
}

impl Drop for Pack {
    fn drop(&mut self) {
        if let Some(mut graph) = self.graph.take() {
            // Keep the (cleared) index for this thread's next pack: a graph
            // sent again and again then costs no rehashing and no page faults.
            graph.index.clear();
            graph.nodes.clear();
            // Last in, first out: the handles of the values packed by
            // value, then their nodes in the reverse of the packing order
            // (see `keep_node`).
            while let Some(rc) = graph.keep.pop() {
                drop(rc);
            }
            if graph.index.capacity() <= SPARE_LIMIT {
                let _ = SPARE_GRAPH.try_with(|spare| spare.set(Some(graph)));
            }
        }
    }
}

/// This thread's spare (cleared) graph index, or a new one.
#[cold]
fn spare_graph() -> Box<Graph> {
    SPARE_GRAPH
        .try_with(|spare| spare.take())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Indexes and tables above this many entries are not kept for reuse.
const SPARE_LIMIT: usize = 1 << 20;

/// Arenas with more types than this are not kept for reuse (lookups scan).
const SPARE_TYPES: usize = 8;

thread_local! {
    static SPARE_ARENAS: std::cell::Cell<Option<Arenas>> = const { std::cell::Cell::new(None) };
    static SPARE_GRAPH: std::cell::Cell<Option<Box<Graph>>> = const { std::cell::Cell::new(None) };
    static SPARE_TABLE: std::cell::Cell<Vec<Option<Rc<dyn Any>>>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A strong `Rc` cycle was found by [`Pack::check_cycles`].
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// use std::{cell::RefCell, rc::Rc};
/// use subinterp::transfer::Pack;
///
/// #[derive(subinterp::Transfer)]
/// struct Node { next: RefCell<Option<Rc<Node>>> }
///
/// let a = Rc::new(Node { next: RefCell::new(None) });
/// assert!(Pack::check_cycles(&a).is_ok());
/// *a.next.borrow_mut() = Some(Rc::clone(&a)); // a -> a
/// let err = Pack::check_cycles(&a).unwrap_err();
/// assert!(err.to_string().starts_with("strong Rc cycle"));
/// a.next.borrow_mut().take(); // break it, or it leaks
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("strong Rc cycle: {type_name} is reachable from its own contents through strong references; make the back edge a Weak")]
pub struct CycleError {
    type_name: &'static str,
}

/// Hashes `Rc` addresses: they are distinct and aligned, so a multiply and a
/// fold spread them well, far cheaper than SipHash.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        let h = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
}

/// The receiver-side context of one transfer: the index → rebuilt node
/// table that gives every reference to one node the same `Rc`.
///
/// ```
/// use std::rc::Rc;
/// use subinterp::transfer::{Pack, Transfer, Unpack};
/// let node = Rc::new(String::from("shared"));
/// let packet = vec![Rc::clone(&node), node].pack(&mut Pack::new());
/// let back: Vec<Rc<String>> = Transfer::unpack(packet, &mut Unpack::new());
/// assert!(Rc::ptr_eq(&back[0], &back[1]));
/// ```
#[derive(Default)]
pub struct Unpack {
    /// Node index → the rebuilt node (`None` until it is complete).
    table: Vec<Option<Rc<dyn Any>>>,
    /// The nodes being rebuilt by `Rc::new_cyclic`, innermost last, each
    /// with a boxed `Weak<T>` to it (for the `Weak`s inside its contents).
    building: Vec<(u32, Box<dyn Any>)>,
    /// The arenas of the root node being unpacked; `None` outside one.
    arenas: Option<Arenas>,
}

impl Unpack {
    /// A fresh context. It allocates nothing until it meets an `Rc`.
    ///
    /// ```
    /// let _cx = subinterp::transfer::Unpack::new();
    /// ```
    pub fn new() -> Unpack {
        Unpack {
            table: Vec::new(),
            building: Vec::new(),
            arenas: None,
        }
    }

    /// Starts unpacking a root node whose nodes below travel in `arenas`;
    /// returns the arenas to restore with [`leave_root`](Unpack::leave_root).
    pub(crate) fn enter_root(&mut self, arenas: Arenas) -> Option<Arenas> {
        self.arenas.replace(arenas)
    }

    /// Whether a root node's contents (or the nodes below it) are being
    /// unpacked: then the `Vec`s inside come from the arenas.
    #[inline]
    pub(crate) fn in_root(&self) -> bool {
        self.arenas.is_some()
    }

    /// Ends what [`enter_root`](Unpack::enter_root) started; the emptied
    /// arenas are kept for this thread's next pack.
    pub(crate) fn leave_root(&mut self, outer: Option<Arenas>) {
        let Some(mut done) = std::mem::replace(&mut self.arenas, outer) else {
            return;
        };
        done.clear();
        if done.buffers.len() <= SPARE_TYPES && done.capacity() <= SPARE_LIMIT {
            let _ = SPARE_ARENAS.try_with(|a| a.set(Some(done)));
        }
    }

    /// Arena number `i` of the root being unpacked, if it holds packets of
    /// type `P`.
    #[inline]
    fn arena<P: Send + 'static>(&mut self, i: u32) -> Option<&mut Vec<Option<P>>> {
        self.arenas.as_mut()?.at::<P>(i as usize)
    }

    /// Takes the contents of the node in `slot` of arena number `arena`,
    /// which holds packets of type `P`.
    #[inline]
    pub(crate) fn take_stashed<P: Send + 'static>(&mut self, arena: u32, slot: u32) -> P {
        self.arena::<P>(arena)
            .and_then(|arena| arena.get_mut(slot as usize))
            .and_then(Option::take)
            .unwrap_or_else(|| mismatch(slot))
    }

    /// Unpacks the next run of `Vec` elements (see [`Pack::pack_run`])
    /// into a `Vec` of exactly its length.
    pub(crate) fn unpack_run<T: Transfer>(&mut self) -> Vec<T> {
        let Some(run) = self.arenas.as_mut().and_then(Arenas::next_run) else {
            mismatch_run()
        };
        if run.len <= 2 {
            return self.unpack_short_run(run);
        }
        let mut out = Vec::with_capacity(run.len as usize);
        for slot in run.start..run.start + run.len {
            let packet = self
                .arena::<T::Packet>(run.arena)
                .and_then(|a| a.get_mut(slot as usize))
                .and_then(Option::take)
                .unwrap_or_else(|| mismatch_run());
            out.push(T::unpack(packet, self));
        }
        out
    }

    /// [`unpack_run`](Unpack::unpack_run) for a run of up to two elements:
    /// one arena lookup, and the `Vec` allocated after its elements.
    #[inline]
    fn unpack_short_run<T: Transfer>(&mut self, run: Run) -> Vec<T> {
        let (first, second) = {
            let Some(slots) = self
                .arena::<T::Packet>(run.arena)
                .and_then(|a| a.get_mut(run.start as usize..(run.start + run.len) as usize))
            else {
                mismatch_run()
            };
            let mut taken = slots.iter_mut().map(Option::take);
            (taken.next().flatten(), taken.next().flatten())
        };
        match (first, second) {
            (None, None) if run.len == 0 => Vec::new(),
            (Some(a), None) if run.len == 1 => {
                let a = T::unpack(a, self);
                vec![a]
            }
            (Some(a), Some(b)) => {
                let a = T::unpack(a, self);
                let b = T::unpack(b, self);
                vec![a, b]
            }
            _ => mismatch_run(),
        }
    }

    #[inline]
    fn slot(&mut self, id: u32) -> &mut Option<Rc<dyn Any>> {
        let id = id as usize;
        if id >= self.table.len() {
            self.grow(id);
        }
        &mut self.table[id]
    }

    /// Makes room for slot `id` (nodes arrive in index order, so this is
    /// usually one more slot).
    #[cold]
    fn grow(&mut self, id: usize) {
        if self.table.capacity() == 0 {
            self.table = SPARE_TABLE.try_with(|t| t.take()).unwrap_or_default();
        }
        self.table.resize_with(id + 1, || None);
    }

    /// The rebuilt node `id`, which must be complete.
    #[inline]
    pub(crate) fn strong<T: 'static>(&mut self, id: u32) -> Rc<T> {
        match self.table.get(id as usize) {
            Some(Some(rc)) => Rc::clone(rc)
                .downcast::<T>()
                .unwrap_or_else(|_| mismatch(id)),
            _ => mismatch(id),
        }
    }

    /// A `Weak` to node `id`, complete or being rebuilt.
    pub(crate) fn weak<T: 'static>(&mut self, id: u32) -> Weak<T> {
        if let Some(Some(rc)) = self.table.get(id as usize) {
            return Rc::downgrade(
                &Rc::clone(rc)
                    .downcast::<T>()
                    .unwrap_or_else(|_| mismatch(id)),
            );
        }
        match self.building.iter().rev().find(|(at, _)| *at == id) {
            Some((_, weak)) => weak
                .downcast_ref::<Weak<T>>()
                .cloned()
                .unwrap_or_else(|| mismatch(id)),
            None => mismatch(id),
        }
    }

    /// Rebuilds node `id` from its packed contents.
    #[inline]
    pub(crate) fn build<T: Transfer>(&mut self, id: u32, value: T::Packet, cyclic: bool) -> Rc<T> {
        let rc = if cyclic {
            let rc = Rc::new_cyclic(|weak: &Weak<T>| {
                self.building.push((id, Box::new(weak.clone())));
                T::unpack(value, self)
            });
            // Nested cyclic nodes were rebuilt (and popped) inside: this
            // one is the last entry again.
            self.building.pop();
            rc
        } else {
            // The slot is written once, below: nothing refers to the node
            // while its contents unpack (a `Weak` to it would make it cyclic).
            Rc::new(T::unpack(value, self))
        };
        // Written once per node (ids are unique in a packet): the old entry
        // is `None`, and forgetting it skips the drop glue.
        let old = self.slot(id).replace(Rc::clone(&rc) as Rc<dyn Any>);
        debug_assert!(old.is_none(), "node {id} rebuilt twice");
        std::mem::forget(old);
        rc
    }
}

#[cold]
fn mismatch(id: u32) -> ! {
    panic!(
        "subinterp::transfer: Rc node {id} unpacked out of order or with another type; \
         a packet must be unpacked by one Unpack, in the order it was packed"
    )
}

#[cold]
fn mismatch_run() -> ! {
    panic!(
        "subinterp::transfer: a Vec inside an Rc node unpacked out of order or with another \
         type; a packet must be unpacked by one Unpack, in the order it was packed"
    )
}

impl Drop for Unpack {
    fn drop(&mut self) {
        if self.table.capacity() != 0 {
            let mut table = std::mem::take(&mut self.table);
            table.clear();
            if table.capacity() <= SPARE_LIMIT {
                let _ = SPARE_TABLE.try_with(|t| t.set(table));
            }
        }
    }
}

impl fmt::Debug for Unpack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unpack")
            .field("nodes", &self.table.len())
            .finish()
    }
}

/// A value packed for another interpreter: `Send` whatever `T` is. Use it to
/// transfer through anything that moves a `Send` value (a plain channel, a
/// closure sent to an interpreter...). Making one counts the transfer in
/// this thread's [`thread_stats`].
///
/// ```
/// use std::rc::Rc;
/// use subinterp::transfer::Packed;
/// let local = Rc::new(vec![1u8, 2, 3]);
/// let packed = Packed::copy(&local); // Send, though Rc is not
/// let len = std::thread::spawn(move || packed.unpack().len()).join().unwrap();
/// assert_eq!(len, 3);
/// ```
pub struct Packed<T: Transfer> {
    packet: T::Packet,
    mode: Mode,
    bytes: u64,
    _t: PhantomData<fn() -> T>,
}

impl<T: Transfer> Packed<T> {
    /// Packs `value` (moved, shared or copied as its type says).
    ///
    /// ```
    /// let p = subinterp::transfer::Packed::new(String::from("moved"));
    /// assert_eq!(p.bytes_copied(), 0);
    /// assert_eq!(p.unpack(), "moved");
    /// ```
    pub fn new(value: T) -> Packed<T> {
        let (packet, mode, bytes) = pack_value(value);
        stats::record_thread(mode, bytes);
        Packed {
            packet,
            mode,
            bytes,
            _t: PhantomData,
        }
    }

    /// Deep-copies `value`; the caller keeps it.
    ///
    /// ```
    /// let s = String::from("kept");
    /// let p = subinterp::transfer::Packed::copy(&s);
    /// assert_eq!(p.bytes_copied(), 4);
    /// assert_eq!(p.unpack(), s);
    /// ```
    pub fn copy(value: &T) -> Packed<T>
    where
        T: DeepCopy,
    {
        let (packet, mode, bytes) = pack_copy_value(value);
        stats::record_thread(mode, bytes);
        Packed {
            packet,
            mode,
            bytes,
            _t: PhantomData,
        }
    }

    /// Rebuilds the value (in the receiving interpreter).
    ///
    /// ```
    /// assert_eq!(subinterp::transfer::Packed::new(5u8).unpack(), 5);
    /// ```
    pub fn unpack(self) -> T {
        T::unpack(self.packet, &mut Unpack::new())
    }

    /// How the value crossed: the most expensive mode of its parts.
    ///
    /// ```
    /// use subinterp::transfer::{Frozen, Mode, Packed};
    /// assert_eq!(Packed::new(Frozen::new(1u8)).mode(), Mode::Shared);
    /// ```
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The bytes of heap data deep-copied to make this packet.
    ///
    /// ```
    /// assert_eq!(subinterp::transfer::Packed::copy(&vec![0u16; 8]).bytes_copied(), 16);
    /// ```
    pub fn bytes_copied(&self) -> u64 {
        self.bytes
    }
}

impl<T: Transfer> fmt::Debug for Packed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packed")
            .field("type", &std::any::type_name::<T>())
            .field("mode", &self.mode)
            .field("bytes_copied", &self.bytes)
            .finish()
    }
}

/// Packs `value` by value: a value of bit copies only counts as moved.
#[inline]
pub(crate) fn pack_value<T: Transfer>(value: T) -> (T::Packet, Mode, u64) {
    let mut cx = Pack::new();
    let packet = value.pack(&mut cx);
    let mode = match cx.mode {
        Mode::Bits => Mode::Moved,
        m => m,
    };
    (packet, mode, cx.bytes)
}

/// Packs a deep copy of `value`: a value of bit copies only counts as copied.
#[inline]
pub(crate) fn pack_copy_value<T: DeepCopy>(value: &T) -> (T::Packet, Mode, u64) {
    let mut cx = Pack::new();
    let packet = value.pack_copy(&mut cx);
    let mode = match cx.mode {
        Mode::Bits => Mode::Copied,
        m => m,
    };
    (packet, mode, cx.bytes)
}

/// Converts `A` into `B` when they are the same type, without `unsafe`: a
/// downcast through `Any` that the optimizer folds away.
#[inline(always)]
pub(crate) fn cast<A: 'static, B: 'static>(a: A) -> Result<B, A> {
    let mut slot = Some(a);
    match (&mut slot as &mut dyn Any).downcast_mut::<Option<B>>() {
        Some(b) => Ok(b.take().expect("cast: value present")),
        None => Err(slot.expect("cast: value present")),
    }
}

/// Hands `value` over whole if its type crosses as is (recording its mode).
#[inline(always)]
pub(crate) fn whole<A: Transfer>(value: A, cx: &mut Pack) -> Result<A::Packet, A> {
    match A::AS_IS {
        None => Err(value),
        Some(mode) => {
            let packet = cast::<A, A::Packet>(value)?;
            cx.record(mode);
            Ok(packet)
        }
    }
}

/// Takes `packet` back whole if the type crosses as is.
#[inline(always)]
pub(crate) fn whole_back<A: Transfer>(packet: A::Packet) -> Result<A, A::Packet> {
    match A::AS_IS {
        None => Err(packet),
        Some(_) => cast::<A::Packet, A>(packet),
    }
}
