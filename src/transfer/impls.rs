//! `Transfer` and `DeepCopy` for the standard types. The mode of each is in
//! the table of the [module docs](super#modes-type-by-type).

use super::packet::{Collection, CollectionRepr, Node, NodeRepr, Root, WeakNode, UNSHARED};
use super::{cast, whole, whole_back, DeepCopy, Frozen, Mode, Pack, Transfer, Unpack, Visit};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;
use std::mem::size_of;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- bit copies

macro_rules! bits {
    ($($t:ty),* $(,)?) => {$(
        impl Transfer for $t {
            type Packet = $t;
            const AS_IS: Option<Mode> = Some(Mode::Bits);
            #[inline(always)]
            fn pack(self, _cx: &mut Pack) -> $t {
                self
            }
            #[inline(always)]
            fn unpack(p: $t, _cx: &mut Unpack) -> $t {
                p
            }
        }
        impl DeepCopy for $t {
            #[inline(always)]
            fn pack_copy(&self, _cx: &mut Pack) -> $t {
                *self
            }
            #[inline]
            fn copy_slice(items: &[$t], _cx: &mut Pack) -> Vec<$t> {
                items.to_vec()
            }
        }
    )*};
}

bits!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    bool,
    char,
    (),
    Duration,
    Instant
);

impl<T: ?Sized + 'static> Transfer for PhantomData<T> {
    type Packet = PhantomData<fn() -> Box<T>>;
    fn pack(self, _cx: &mut Pack) -> Self::Packet {
        PhantomData
    }
    fn unpack(_p: Self::Packet, _cx: &mut Unpack) -> Self {
        PhantomData
    }
}

impl<T: ?Sized + 'static> DeepCopy for PhantomData<T> {
    fn pack_copy(&self, _cx: &mut Pack) -> Self::Packet {
        PhantomData
    }
}

impl<T: Transfer, const N: usize> Transfer for [T; N] {
    type Packet = [T::Packet; N];
    const AS_IS: Option<Mode> = T::AS_IS;
    #[inline]
    fn pack(self, cx: &mut Pack) -> Self::Packet {
        match whole(self, cx) {
            Ok(p) => p,
            Err(this) => this.map(|x| x.pack(cx)),
        }
    }
    #[inline]
    fn unpack(p: Self::Packet, cx: &mut Unpack) -> Self {
        match whole_back::<Self>(p) {
            Ok(v) => v,
            Err(p) => p.map(|x| T::unpack(x, cx)),
        }
    }
}

impl<T: DeepCopy, const N: usize> DeepCopy for [T; N] {
    fn pack_copy(&self, cx: &mut Pack) -> Self::Packet {
        std::array::from_fn(|i| self[i].pack_copy(cx))
    }
}

macro_rules! tuple {
    ($($name:ident $idx:tt),+) => {
        impl<$($name: Transfer),+> Transfer for ($($name,)+) {
            type Packet = ($($name::Packet,)+);
            const AS_IS: Option<Mode> = Mode::all_as_is(&[$($name::AS_IS),+]);
            #[inline]
            fn pack(self, cx: &mut Pack) -> Self::Packet {
                match whole(self, cx) {
                    Ok(p) => p,
                    Err(this) => ($(this.$idx.pack(cx),)+),
                }
            }
            #[inline]
            fn unpack(p: Self::Packet, cx: &mut Unpack) -> Self {
                match whole_back::<Self>(p) {
                    Ok(v) => v,
                    Err(p) => ($($name::unpack(p.$idx, cx),)+),
                }
            }
        }
        impl<$($name: DeepCopy),+> DeepCopy for ($($name,)+) {
            fn pack_copy(&self, cx: &mut Pack) -> Self::Packet {
                ($(self.$idx.pack_copy(cx),)+)
            }
        }
    };
}

tuple!(A 0);
tuple!(A 0, B 1);
tuple!(A 0, B 1, C 2);
tuple!(A 0, B 1, C 2, D 3);
tuple!(A 0, B 1, C 2, D 3, E 4);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

// ------------------------------------------------- Option, Result: as contents

impl<T: Transfer> Transfer for Option<T> {
    type Packet = Option<T::Packet>;
    const AS_IS: Option<Mode> = T::AS_IS;
    #[inline]
    fn pack(self, cx: &mut Pack) -> Self::Packet {
        match whole(self, cx) {
            Ok(p) => p,
            Err(this) => this.map(|x| x.pack(cx)),
        }
    }
    #[inline]
    fn unpack(p: Self::Packet, cx: &mut Unpack) -> Self {
        match whole_back::<Self>(p) {
            Ok(v) => v,
            Err(p) => p.map(|x| T::unpack(x, cx)),
        }
    }
}

impl<T: DeepCopy> DeepCopy for Option<T> {
    fn pack_copy(&self, cx: &mut Pack) -> Self::Packet {
        self.as_ref().map(|x| x.pack_copy(cx))
    }
}

impl<T: Transfer, E: Transfer> Transfer for Result<T, E> {
    type Packet = Result<T::Packet, E::Packet>;
    const AS_IS: Option<Mode> = Mode::all_as_is(&[T::AS_IS, E::AS_IS]);
    #[inline]
    fn pack(self, cx: &mut Pack) -> Self::Packet {
        match whole(self, cx) {
            Ok(p) => p,
            Err(Ok(v)) => Ok(v.pack(cx)),
            Err(Err(e)) => Err(e.pack(cx)),
        }
    }
    #[inline]
    fn unpack(p: Self::Packet, cx: &mut Unpack) -> Self {
        match whole_back::<Self>(p) {
            Ok(v) => v,
            Err(Ok(v)) => Ok(T::unpack(v, cx)),
            Err(Err(e)) => Err(E::unpack(e, cx)),
        }
    }
}

impl<T: DeepCopy, E: DeepCopy> DeepCopy for Result<T, E> {
    fn pack_copy(&self, cx: &mut Pack) -> Self::Packet {
        match self {
            Ok(v) => Ok(v.pack_copy(cx)),
            Err(e) => Err(e.pack_copy(cx)),
        }
    }
}

// ------------------------------------------------------ owned buffers: moved

impl Transfer for String {
    type Packet = String;
    const AS_IS: Option<Mode> = Some(Mode::Moved);
    #[inline]
    fn pack(self, cx: &mut Pack) -> String {
        cx.record(Mode::Moved);
        self
    }
    #[inline]
    fn unpack(p: String, _cx: &mut Unpack) -> String {
        p
    }
}

impl DeepCopy for String {
    fn pack_copy(&self, cx: &mut Pack) -> String {
        cx.copied(self.len());
        self.clone()
    }
}

impl Transfer for Box<str> {
    type Packet = Box<str>;
    const AS_IS: Option<Mode> = Some(Mode::Moved);
    #[inline]
    fn pack(self, cx: &mut Pack) -> Box<str> {
        cx.record(Mode::Moved);
        self
    }
    #[inline]
    fn unpack(p: Box<str>, _cx: &mut Unpack) -> Box<str> {
        p
    }
}

impl DeepCopy for Box<str> {
    fn pack_copy(&self, cx: &mut Pack) -> Box<str> {
        cx.copied(self.len());
        self.clone()
    }
}

impl<T: Transfer> Transfer for Vec<T> {
    type Packet = Vec<T::Packet>;
    const AS_IS: Option<Mode> = Mode::container_of(T::AS_IS);
    #[inline]
    fn pack(self, cx: &mut Pack) -> Self::Packet {
        match whole(self, cx) {
            Ok(p) => p,
            // Inside an `Rc` node the elements go to the root's arenas.
            Err(this) if cx.in_node() => cx.pack_run(this.into_iter(), T::pack),
            Err(this) => this.into_iter().map(|x| x.pack(cx)).collect(),
        }
    }
    #[inline]
    fn unpack(p: Self::Packet, cx: &mut Unpack) -> Self {
        match whole_back::<Self>(p) {
            Ok(v) => v,
            // Packed inside a node by `pack_run`: the elements are in the
            // root's arenas, and the `Vec` is made here, on this thread.
            Err(p) if p.is_empty() && cx.in_root() => cx.unpack_run(),
            Err(p) => p.into_iter().map(|x| T::unpack(x, cx)).collect(),
        }
    }
}

impl<T: DeepCopy> DeepCopy for Vec<T> {
    #[inline]
    fn pack_copy(&self, cx: &mut Pack) -> Self::Packet {
        cx.copied(self.len() * size_of::<T>());
        copy_elements(self, cx)
    }
}

/// The packet of a copied slice: a run in the arenas inside an `Rc` node
/// (when the elements do not cross as is), else a new buffer.
#[inline]
fn copy_elements<T: DeepCopy>(items: &[T], cx: &mut Pack) -> Vec<T::Packet> {
    if T::AS_IS.is_none() && cx.in_node() {
        cx.pack_run(items.iter(), T::pack_copy)
    } else {
        T::copy_slice(items, cx)
    }
}

impl<T: Transfer> Transfer for Box<[T]> {
    type Packet = Box<[T::Packet]>;
    const AS_IS: Option<Mode> = Mode::container_of(T::AS_IS);
    #[inline]
    fn pack(self, cx: &mut Pack) -> Self::Packet {
        match whole(self, cx) {
            Ok(p) => p,
            Err(this) => this.into_vec().pack(cx).into_boxed_slice(),
        }
    }
    #[inline]
    fn unpack(p: Self::Packet, cx: &mut Unpack) -> Self {
        match whole_back::<Self>(p) {
            Ok(v) => v,
            Err(p) => Vec::<T>::unpack(p.into_vec(), cx).into_boxed_slice(),
        }
    }
}

impl<T: DeepCopy> DeepCopy for Box<[T]> {
    fn pack_copy(&self, cx: &mut Pack) -> Self::Packet {
        cx.copied(self.len() * size_of::<T>());
        copy_elements(self, cx).into_boxed_slice()
    }
}

impl<T: Transfer> Transfer for Box<T> {
    type Packet = Box<T::Packet>;
    const AS_IS: Option<Mode> = Mode::container_of(T::AS_IS);
    #[inline]
    fn pack(self, cx: &mut Pack) -> Self::Packet {
        match whole(self, cx) {
            Ok(p) => p,
            Err(this) => Box::new((*this).pack(cx)),
        }
    }
    #[inline]
    fn unpack(p: Self::Packet, cx: &mut Unpack) -> Self {
        match whole_back::<Self>(p) {
            Ok(v) => v,
            Err(p) => Box::new(T::unpack(*p, cx)),
        }
    }
}

impl<T: DeepCopy> DeepCopy for Box<T> {
    fn pack_copy(&self, cx: &mut Pack) -> Self::Packet {
        cx.copied(size_of::<T>());
        Box::new((**self).pack_copy(cx))
    }
}

impl<T: Transfer> Transfer for VecDeque<T> {
    type Packet = VecDeque<T::Packet>;
    const AS_IS: Option<Mode> = Mode::container_of(T::AS_IS);
    #[inline]
    fn pack(self, cx: &mut Pack) -> Self::Packet {
        match whole(self, cx) {
            Ok(p) => p,
            // As for `Vec`: inside a node, the elements go to the arenas.
            Err(this) if cx.in_node() => cx.pack_run(this.into_iter(), T::pack).into(),
            Err(this) => this.into_iter().map(|x| x.pack(cx)).collect(),
        }
    }
    #[inline]
    fn unpack(p: Self::Packet, cx: &mut Unpack) -> Self {
        match whole_back::<Self>(p) {
            Ok(v) => v,
            Err(p) if p.is_empty() && cx.in_root() => cx.unpack_run().into(),
            Err(p) => p.into_iter().map(|x| T::unpack(x, cx)).collect(),
        }
    }
}

impl<T: DeepCopy> DeepCopy for VecDeque<T> {
    fn pack_copy(&self, cx: &mut Pack) -> Self::Packet {
        cx.copied(self.len() * size_of::<T>());
        if T::AS_IS.is_none() && cx.in_node() {
            return cx.pack_run(self.iter(), T::pack_copy).into();
        }
        let (a, b) = self.as_slices();
        let mut out = VecDeque::from(T::copy_slice(a, cx));
        out.extend(T::copy_slice(b, cx));
        out
    }
}

// ------------------------------------------------------------ maps and sets

/// Packs a collection whole when its entries cross as is (recording `Moved`),
/// entry by entry otherwise.
macro_rules! collection {
    (
        impl[$($g:tt)*] $ty:ty, entry $entry:ty, packet $packet:ty, whole $wty:ty,
        where [$($bounds:tt)*], [$($copy_bounds:tt)*],
        as_is $as_is:expr,
        pack |$pv:ident| $pack:expr,
        unpack |$uv:ident| $unpack:expr,
        copy |$cv:ident| $copy:expr $(,)?
    ) => {
        impl<$($g)*> Transfer for $ty where $($bounds)* {
            type Packet = Collection<$wty, $packet>;
            const AS_IS: Option<Mode> = None;
            fn pack(self, cx: &mut Pack) -> Self::Packet {
                let this = if $as_is {
                    match cast::<Self, $wty>(self) {
                        Ok(whole) => {
                            cx.record(Mode::Moved);
                            return Collection(CollectionRepr::Whole(whole));
                        }
                        Err(this) => this,
                    }
                } else {
                    self
                };
                let entries = this.into_iter().map(|$pv| $pack(cx)).collect();
                Collection(CollectionRepr::Entries(entries))
            }
            fn unpack(p: Self::Packet, cx: &mut Unpack) -> Self {
                match p.0 {
                    CollectionRepr::Whole(w) => match cast::<$wty, Self>(w) {
                        Ok(v) => v,
                        // Only made when the two types are the same.
                        Err(w) => w.into_iter().map(|$uv| $unpack(cx)).collect(),
                    },
                    CollectionRepr::Entries(e) => e.into_iter().map(|$uv| $unpack(cx)).collect(),
                }
            }
        }
        impl<$($g)*> DeepCopy for $ty where $($copy_bounds)* {
            fn pack_copy(&self, cx: &mut Pack) -> Self::Packet {
                cx.copied(self.len() * size_of::<$entry>());
                let entries = self.iter().map(|$cv| $copy(cx)).collect();
                Collection(CollectionRepr::Entries(entries))
            }
        }
    };
}

collection!(
    impl[K, V, S] HashMap<K, V, S>, entry (K, V), packet (K::Packet, V::Packet),
    whole HashMap<K::Packet, V::Packet, S>,
    where [K: Transfer + Eq + Hash, V: Transfer, S: BuildHasher + Default + Send + 'static],
    [K: DeepCopy + Eq + Hash, V: DeepCopy, S: BuildHasher + Default + Send + 'static],
    as_is K::AS_IS.is_some() && V::AS_IS.is_some(),
    pack |kv| |cx: &mut Pack| (kv.0.pack(cx), kv.1.pack(cx)),
    unpack |kv| |cx: &mut Unpack| (K::unpack(kv.0, cx), V::unpack(kv.1, cx)),
    copy |kv| |cx: &mut Pack| (kv.0.pack_copy(cx), kv.1.pack_copy(cx)),
);

collection!(
    impl[K, V] BTreeMap<K, V>, entry (K, V), packet (K::Packet, V::Packet),
    whole BTreeMap<K::Packet, V::Packet>,
    where [K: Transfer + Ord, V: Transfer], [K: DeepCopy + Ord, V: DeepCopy],
    as_is K::AS_IS.is_some() && V::AS_IS.is_some(),
    pack |kv| |cx: &mut Pack| (kv.0.pack(cx), kv.1.pack(cx)),
    unpack |kv| |cx: &mut Unpack| (K::unpack(kv.0, cx), V::unpack(kv.1, cx)),
    copy |kv| |cx: &mut Pack| (kv.0.pack_copy(cx), kv.1.pack_copy(cx)),
);

collection!(
    impl[T, S] HashSet<T, S>, entry T, packet T::Packet, whole HashSet<T::Packet, S>,
    where [T: Transfer + Eq + Hash, S: BuildHasher + Default + Send + 'static],
    [T: DeepCopy + Eq + Hash, S: BuildHasher + Default + Send + 'static],
    as_is T::AS_IS.is_some(),
    pack |x| |cx: &mut Pack| x.pack(cx),
    unpack |x| |cx: &mut Unpack| T::unpack(x, cx),
    copy |x| |cx: &mut Pack| x.pack_copy(cx),
);

collection!(
    impl[T] BTreeSet<T>, entry T, packet T::Packet, whole BTreeSet<T::Packet>,
    where [T: Transfer + Ord], [T: DeepCopy + Ord],
    as_is T::AS_IS.is_some(),
    pack |x| |cx: &mut Pack| x.pack(cx),
    unpack |x| |cx: &mut Unpack| T::unpack(x, cx),
    copy |x| |cx: &mut Pack| x.pack_copy(cx),
);

// ------------------------------------------------------ immutable: shared

impl<T: ?Sized + Send + Sync + 'static> Transfer for Frozen<T> {
    type Packet = Frozen<T>;
    const AS_IS: Option<Mode> = Some(Mode::Shared);
    #[inline]
    fn pack(self, cx: &mut Pack) -> Frozen<T> {
        cx.record(Mode::Shared);
        self
    }
    #[inline]
    fn unpack(p: Frozen<T>, _cx: &mut Unpack) -> Frozen<T> {
        p
    }
}

impl<T: ?Sized + Send + Sync + 'static> DeepCopy for Frozen<T> {
    #[inline]
    fn pack_copy(&self, cx: &mut Pack) -> Frozen<T> {
        cx.record(Mode::Shared);
        self.clone()
    }
    fn copy_slice(items: &[Self], cx: &mut Pack) -> Vec<Self> {
        cx.record(Mode::Shared);
        items.to_vec()
    }
}

impl<T: ?Sized + Send + Sync + 'static> Transfer for Arc<T> {
    type Packet = Arc<T>;
    const AS_IS: Option<Mode> = Some(Mode::Shared);
    #[inline]
    fn pack(self, cx: &mut Pack) -> Arc<T> {
        cx.record(Mode::Shared);
        self
    }
    #[inline]
    fn unpack(p: Arc<T>, _cx: &mut Unpack) -> Arc<T> {
        p
    }
}

impl<T: ?Sized + Send + Sync + 'static> DeepCopy for Arc<T> {
    #[inline]
    fn pack_copy(&self, cx: &mut Pack) -> Arc<T> {
        cx.record(Mode::Shared);
        Arc::clone(self)
    }
    fn copy_slice(items: &[Self], cx: &mut Pack) -> Vec<Self> {
        cx.record(Mode::Shared);
        items.to_vec()
    }
}

impl<T: ?Sized + Sync + 'static> Transfer for &'static T {
    type Packet = &'static T;
    const AS_IS: Option<Mode> = Some(Mode::Shared);
    #[inline]
    fn pack(self, cx: &mut Pack) -> &'static T {
        cx.record(Mode::Shared);
        self
    }
    #[inline]
    fn unpack(p: &'static T, _cx: &mut Unpack) -> &'static T {
        p
    }
}

impl<T: ?Sized + Sync + 'static> DeepCopy for &'static T {
    #[inline]
    #[allow(clippy::explicit_auto_deref)] // `self` would be `&'_ T`, not `&'static T`
    fn pack_copy(&self, cx: &mut Pack) -> &'static T {
        cx.record(Mode::Shared);
        *self
    }
    fn copy_slice(items: &[Self], cx: &mut Pack) -> Vec<Self> {
        cx.record(Mode::Shared);
        items.to_vec()
    }
}

// ------------------------------------------- interpreter-local: deep copy

impl<T: DeepCopy> Transfer for Rc<T> {
    type Packet = Node<T::Packet>;
    fn pack(self, cx: &mut Pack) -> Self::Packet {
        let owned = cx.enter_owned();
        let packet = self.pack_copy(cx);
        cx.leave_owned(owned);
        cx.keep(self);
        packet
    }
    fn unpack(p: Self::Packet, cx: &mut Unpack) -> Self {
        unpack_node(p.0, cx)
    }
}

impl<T: DeepCopy> DeepCopy for Rc<T> {
    fn pack_copy(&self, cx: &mut Pack) -> Self::Packet {
        if Rc::strong_count(self) == 1 && Rc::weak_count(self) == 0 {
            // This handle is the node's only reference, strong or weak: no
            // other path through the value can reach the node (a handle to
            // it would count), so it needs no index. Trees take this path
            // at every node; only shared nodes pay for the pointer map.
            return pack_node(&**self, UNSHARED, cx);
        }
        match cx.enter(self) {
            Visit::Seen(id) => Node(NodeRepr::Seen(id)),
            Visit::New(id) => {
                let packet = pack_node(&**self, id, cx);
                cx.keep_node(self);
                packet
            }
        }
    }
}

/// Packs the contents of a node first met here: `id` is its index, or
/// [`UNSHARED`]. Below the outermost node, contents go to the arenas, which
/// the outermost node's packet then carries (a root with no node below it
/// keeps its one box).
fn pack_node<T: DeepCopy>(value: &T, id: u32, cx: &mut Pack) -> Node<T::Packet> {
    cx.copied(size_of::<T>());
    let outermost = cx.open_node();
    let packet = value.pack_copy(cx);
    cx.close_node();
    let cyclic = id != UNSHARED && cx.leave(id);
    if !outermost {
        let (arena, slot) = cx.stash(packet);
        return Node(NodeRepr::Stashed {
            id,
            slot,
            arena,
            cyclic,
        });
    }
    Node(match cx.take_arenas() {
        Some(arenas) => NodeRepr::Root(Box::new(Root {
            id,
            value: packet,
            cyclic,
            arenas,
        })),
        None if id == UNSHARED => NodeRepr::Unshared(Box::new(packet)),
        None => NodeRepr::New {
            id,
            value: Box::new(packet),
            cyclic,
        },
    })
}

/// Rebuilds the node `repr` describes (or finds it, if already rebuilt).
fn unpack_node<T: DeepCopy>(repr: NodeRepr<T::Packet>, cx: &mut Unpack) -> Rc<T> {
    match repr {
        NodeRepr::Seen(id) => cx.strong(id),
        NodeRepr::New { id, value, cyclic } => cx.build::<T>(id, *value, cyclic),
        NodeRepr::Unshared(value) => Rc::new(T::unpack(*value, cx)),
        NodeRepr::Stashed {
            id,
            slot,
            arena,
            cyclic,
        } => {
            let value = cx.take_stashed::<T::Packet>(arena, slot);
            rebuild(id, value, cyclic, cx)
        }
        NodeRepr::Root(root) => {
            let Root {
                id,
                value,
                cyclic,
                arenas,
            } = *root;
            let outer = cx.enter_root(arenas);
            let rc = rebuild(id, value, cyclic, cx);
            cx.leave_root(outer);
            rc
        }
    }
}

#[inline]
fn rebuild<T: DeepCopy>(id: u32, value: T::Packet, cyclic: bool, cx: &mut Unpack) -> Rc<T> {
    if id == UNSHARED {
        Rc::new(T::unpack(value, cx))
    } else {
        cx.build::<T>(id, value, cyclic)
    }
}

impl<T: DeepCopy> Transfer for Weak<T> {
    type Packet = WeakNode<T::Packet>;
    fn pack(self, cx: &mut Pack) -> Self::Packet {
        self.pack_copy(cx)
    }
    fn unpack(p: Self::Packet, cx: &mut Unpack) -> Self {
        match p.0 {
            None => Weak::new(),
            Some(Node(NodeRepr::Seen(id))) => cx.weak(id),
            // The target crossed only through Weaks: the table keeps the
            // copy alive until the unpack ends, so later Rcs to it in the
            // same value find it; if there are none, it is dropped then.
            Some(Node(repr)) => Rc::downgrade(&unpack_node(repr, cx)),
        }
    }
}

impl<T: DeepCopy> DeepCopy for Weak<T> {
    fn pack_copy(&self, cx: &mut Pack) -> Self::Packet {
        let Some(rc) = self.upgrade() else {
            cx.record(Mode::Copied);
            return WeakNode(None);
        };
        WeakNode(Some(match cx.enter_weak(&rc) {
            Visit::Seen(id) => Node(NodeRepr::Seen(id)),
            Visit::New(id) => pack_node(&*rc, id, cx),
        }))
    }
}

impl<T: Transfer> Transfer for RefCell<T> {
    type Packet = T::Packet;
    #[inline]
    fn pack(self, cx: &mut Pack) -> T::Packet {
        self.into_inner().pack(cx)
    }
    #[inline]
    fn unpack(p: T::Packet, cx: &mut Unpack) -> Self {
        RefCell::new(T::unpack(p, cx))
    }
}

impl<T: DeepCopy> DeepCopy for RefCell<T> {
    fn pack_copy(&self, cx: &mut Pack) -> T::Packet {
        let inner = self.try_borrow().unwrap_or_else(|_| {
            panic!(
                "subinterp::transfer: cannot copy a RefCell<{}> that is mutably borrowed",
                std::any::type_name::<T>()
            )
        });
        inner.pack_copy(cx)
    }
}

impl<T: Transfer + Copy> Transfer for Cell<T> {
    type Packet = T::Packet;
    #[inline]
    fn pack(self, cx: &mut Pack) -> T::Packet {
        self.into_inner().pack(cx)
    }
    #[inline]
    fn unpack(p: T::Packet, cx: &mut Unpack) -> Self {
        Cell::new(T::unpack(p, cx))
    }
}

impl<T: DeepCopy + Copy> DeepCopy for Cell<T> {
    fn pack_copy(&self, cx: &mut Pack) -> T::Packet {
        self.get().pack_copy(cx)
    }
}

// ----------------------------------------------- channel handles: moved

/// A channel handle crosses as itself (moved); a copy of one is a clone of
/// the handle, sharing the channel.
macro_rules! channel_handle {
    ($($handle:ident where T: [$($bound:tt)+];)+) => {$(
        impl<T: $($bound)+> Transfer for $handle<T> {
            type Packet = $handle<T>;
            const AS_IS: Option<Mode> = Some(Mode::Moved);
            fn pack(self, cx: &mut Pack) -> Self {
                cx.record(Mode::Moved);
                self
            }
            fn unpack(p: Self, _cx: &mut Unpack) -> Self {
                p
            }
        }

        impl<T: $($bound)+> DeepCopy for $handle<T> {
            fn pack_copy(&self, cx: &mut Pack) -> Self {
                cx.record(Mode::Shared);
                self.clone()
            }
        }
    )+};
}

use super::{Receiver as TransferReceiver, Sender as TransferSender};
use crate::{Receiver as PlainReceiver, Sender as PlainSender};

channel_handle! {
    PlainSender where T: [Send + 'static];
    PlainReceiver where T: [Send + 'static];
    TransferSender where T: [Transfer];
    TransferReceiver where T: [Transfer];
}
