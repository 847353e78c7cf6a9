//! The transfer layer: shared, moved and deep-copied values across threads
//! (the two sides of an interpreter boundary), sharing in `Rc` graphs, the
//! derive, statistics, and drop accounting through every path.
#![cfg(feature = "derive")]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::mem::size_of;
use std::pin::pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Context;
use std::thread;
use std::time::Duration;

use subinterp::transfer::{
    self, DeepCopy, Frozen, Mode, Pack, Packed, Transfer, TransferStats, Unpack,
};

const MIB: usize = 1 << 20;

/// Runs `f` on another thread (the receiving side) and returns its result.
fn other_side<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    thread::spawn(f).join().expect("receiver side panicked")
}

fn stats(shared: u64, moved: u64, copied: u64, bytes_copied: u64) -> TransferStats {
    TransferStats {
        shared,
        moved,
        copied,
        bytes_copied,
    }
}

// ------------------------------------------------------------- shared, moved

#[test]
fn frozen_1mib_crosses_zero_copy_same_pointer() {
    let data = Frozen::from(vec![0xABu8; MIB]);
    let (arc_ptr, data_ptr) = (data.as_ptr() as usize, data.as_slice().as_ptr() as usize);
    let (tx, rx) = transfer::bounded::<Frozen<Vec<u8>>>(0);
    let receiver = thread::spawn(move || {
        let got = rx.recv_blocking().unwrap();
        (
            got.as_ptr() as usize,
            got.as_slice().as_ptr() as usize,
            got.len(),
        )
    });
    tx.send_blocking(data).unwrap();
    assert_eq!(receiver.join().unwrap(), (arc_ptr, data_ptr, MIB));
    assert_eq!(tx.stats(), stats(1, 0, 0, 0));
}

#[test]
fn vec_u8_moves_zero_copy_same_pointer() {
    let v = vec![7u8; MIB];
    let ptr = v.as_ptr() as usize;
    let (tx, rx) = transfer::unbounded::<Vec<u8>>();
    tx.send_blocking(v).unwrap();
    let (got_ptr, len) = other_side(move || {
        let got = rx.recv_blocking().unwrap();
        (got.as_ptr() as usize, got.len())
    });
    assert_eq!((got_ptr, len), (ptr, MIB));
    assert_eq!(tx.stats(), stats(0, 1, 0, 0));
}

#[test]
fn owned_containers_of_plain_data_move_whole() {
    let s = String::from("a string that moves");
    let b: Box<[u32]> = vec![1, 2, 3].into_boxed_slice();
    let mut map = HashMap::new();
    map.insert(1u32, vec![9u8; 100]);
    let (s_ptr, b_ptr, m_ptr) = (
        s.as_ptr() as usize,
        b.as_ptr() as usize,
        map[&1].as_ptr() as usize,
    );
    type Msg = (
        String,
        Box<[u32]>,
        HashMap<u32, Vec<u8>>,
        Option<VecDeque<u8>>,
    );
    let (tx, rx) = transfer::unbounded::<Msg>();
    tx.try_send((s, b, map, Some(VecDeque::from(vec![1, 2]))))
        .unwrap();
    let got = other_side(move || {
        let (s, b, map, dq) = rx.recv_blocking().unwrap();
        (
            s.as_ptr() as usize,
            b.as_ptr() as usize,
            map[&1].as_ptr() as usize,
            dq.unwrap().len(),
        )
    });
    assert_eq!(got, (s_ptr, b_ptr, m_ptr, 2));
    assert_eq!(tx.stats(), stats(0, 1, 0, 0));
}

#[test]
fn arc_and_static_refs_are_shared() {
    static TABLE: [u16; 3] = [1, 2, 3];
    let arc: Arc<str> = Arc::from("shared");
    let (tx, rx) = transfer::unbounded::<(Arc<str>, &'static [u16; 3], u64)>();
    tx.try_send((Arc::clone(&arc), &TABLE, 5)).unwrap();
    let (a, t, n) = rx.try_recv().unwrap();
    assert!(Arc::ptr_eq(&a, &arc));
    assert!(std::ptr::eq(t, &TABLE));
    assert_eq!(n, 5);
    assert_eq!(tx.stats(), stats(1, 0, 0, 0));
}

#[test]
fn as_is_constants() {
    assert_eq!(<u8 as Transfer>::AS_IS, Some(Mode::Bits));
    assert_eq!(<(u8, char) as Transfer>::AS_IS, Some(Mode::Bits));
    assert_eq!(<(u8, Frozen<str>) as Transfer>::AS_IS, Some(Mode::Shared));
    assert_eq!(<[Vec<u8>; 2] as Transfer>::AS_IS, Some(Mode::Moved));
    assert_eq!(<Vec<Frozen<str>> as Transfer>::AS_IS, Some(Mode::Moved));
    assert_eq!(<Vec<Rc<u8>> as Transfer>::AS_IS, None);
    assert_eq!(<Option<Rc<u8>> as Transfer>::AS_IS, None);
    assert_eq!(<Result<u8, String> as Transfer>::AS_IS, Some(Mode::Moved));
}

// ------------------------------------------------------------- deep copies

#[test]
fn rc_refcell_vec_deep_copies_and_sides_are_independent() {
    let original = Rc::new(RefCell::new(vec![1u8; 1000]));
    let (tx, rx) = transfer::bounded::<Rc<RefCell<Vec<u8>>>>(1);
    let (back_tx, back_rx) = transfer::bounded::<Vec<u8>>(1);
    let receiver = thread::spawn(move || {
        let copy = rx.recv_blocking().unwrap();
        copy.borrow_mut()[0] = 99; // a mutation on the receiver's side
        copy.borrow_mut().push(2);
        back_tx.send_blocking(copy.borrow().clone()).unwrap();
        // Wait for the sender's mutation, then show the copy did not see it.
        thread::sleep(Duration::from_millis(20));
        let second = copy.borrow()[1];
        second
    });
    tx.send_blocking(Rc::clone(&original)).unwrap();
    let theirs = back_rx.recv_blocking().unwrap();
    original.borrow_mut()[1] = 42; // a mutation on the sender's side
    assert_eq!(receiver.join().unwrap(), 1);
    assert_eq!((theirs[0], theirs.len()), (99, 1001));
    assert_eq!(original.borrow()[0], 1);
    assert_eq!(original.borrow().len(), 1000);
    let node = size_of::<RefCell<Vec<u8>>>() as u64;
    assert_eq!(tx.stats(), stats(0, 0, 1, node + 1000));
}

/// A DAG node with shared children.
#[derive(subinterp::Transfer)]
struct Node {
    id: u32,
    children: Vec<Rc<Node>>,
}

#[test]
fn rc_dag_keeps_its_sharing() {
    // root -> a, b;  a -> c;  b -> c, c
    let c = Rc::new(Node {
        id: 3,
        children: vec![],
    });
    let a = Rc::new(Node {
        id: 1,
        children: vec![Rc::clone(&c)],
    });
    let b = Rc::new(Node {
        id: 2,
        children: vec![Rc::clone(&c), Rc::clone(&c)],
    });
    let root = Rc::new(Node {
        id: 0,
        children: vec![a, b],
    });
    let (tx, rx) = transfer::bounded::<Rc<Node>>(1);
    tx.send_copy_blocking(&root).unwrap();
    let ok = other_side(move || {
        let root = rx.recv_blocking().unwrap();
        let (a, b) = (&root.children[0], &root.children[1]);
        let c = &a.children[0];
        Rc::ptr_eq(c, &b.children[0])
            && Rc::ptr_eq(c, &b.children[1])
            && Rc::strong_count(c) == 3
            && (root.id, a.id, b.id, c.id) == (0, 1, 2, 3)
    });
    assert!(ok);
    assert_eq!(Rc::strong_count(&c), 4); // the sender's graph is untouched
    let st = tx.stats();
    assert_eq!((st.copied, st.transfers()), (1, 1));
    // 4 nodes, and the children buffers: 2 + 1 + 2 pointers.
    assert_eq!(
        st.bytes_copied,
        (4 * size_of::<Node>() + 5 * size_of::<Rc<Node>>()) as u64
    );
}

/// A node with shared children and a `Weak` to a node that may cross only
/// through it.
#[derive(subinterp::Transfer)]
struct Peered {
    id: u32,
    peer: Weak<Peered>, // packed before the children
    children: Vec<Rc<Peered>>,
}

fn peered(id: u32, children: Vec<Rc<Peered>>, peer: Weak<Peered>) -> Rc<Peered> {
    Rc::new(Peered { id, peer, children })
}

#[test]
fn nested_nodes_keep_their_shape_across_several_roots_and_round_trips() {
    // Two roots sharing `c`; `a` is a tree node (one reference); `b`'s peer
    // is `c`, met first through that Weak; `d`'s peer is `e`, whose only
    // strong handle is outside the value.
    let e = peered(5, vec![], Weak::new());
    let c = peered(3, vec![], Weak::new());
    let d = peered(4, vec![], Rc::downgrade(&e));
    let a = peered(1, vec![d], Weak::new());
    let b = peered(2, vec![Rc::clone(&c)], Rc::downgrade(&c));
    let r1 = peered(10, vec![a, b], Weak::new());
    let r2 = peered(20, vec![Rc::clone(&c)], Weak::new());
    let check = |(r1, r2): &(Rc<Peered>, Rc<Peered>)| {
        let (a, b) = (&r1.children[0], &r1.children[1]);
        let c = &b.children[0];
        assert_eq!((r1.id, r2.id, a.id, b.id, c.id), (10, 20, 1, 2, 3));
        assert_eq!(a.children[0].id, 4);
        assert!(a.children[0].peer.upgrade().is_none()); // `e` did not cross
        assert!(Rc::ptr_eq(c, &r2.children[0]));
        assert!(Rc::ptr_eq(&b.peer.upgrade().unwrap(), c));
        assert_eq!(Rc::strong_count(c), 2);
    };
    let mut value = (r1, r2);
    // Back and forth between two threads, by value, so that each side
    // unpacks a packet and then packs with what it kept from it.
    for _ in 0..3 {
        let packed = Packed::new(value);
        let back = other_side(move || {
            let got = packed.unpack();
            Packed::new(got)
        });
        value = back.unpack();
        check(&value);
    }
    assert_eq!(Rc::strong_count(&c), 1);
    assert_eq!(e.id, 5);
}

/// A node holding every kind of sequence whose elements travel in the
/// root's arenas when packed inside an `Rc` node.
#[derive(subinterp::Transfer)]
struct Seqs {
    leaves: Vec<Rc<u32>>,
    nested: Vec<Vec<Rc<u32>>>,
    boxed: Box<[Rc<u32>]>,
    cells: Vec<Cell<u8>>,
    bytes: Vec<u8>,
    weak: Vec<Weak<u32>>,
    deque: VecDeque<Rc<u32>>,
    below: Vec<Rc<Seqs>>,
}

fn seqs(shared: &Rc<u32>, below: Vec<Rc<Seqs>>) -> Rc<Seqs> {
    Rc::new(Seqs {
        leaves: vec![Rc::clone(shared), Rc::new(7)],
        nested: vec![
            vec![],
            vec![Rc::clone(shared)],
            vec![Rc::new(8), Rc::new(9)],
        ],
        boxed: vec![Rc::clone(shared)].into_boxed_slice(),
        cells: vec![Cell::new(1), Cell::new(2), Cell::new(3)],
        bytes: vec![4, 5],
        weak: vec![Rc::downgrade(shared), Weak::new()],
        deque: VecDeque::from([Rc::new(10)]),
        below,
    })
}

#[test]
fn vecs_inside_nodes_travel_in_the_root_arenas() {
    let check = |root: &Rc<Seqs>| {
        let shared = &root.leaves[0];
        assert_eq!(**shared, 6);
        for s in [root, &root.below[0], &root.below[1]] {
            assert!(Rc::ptr_eq(&s.leaves[0], shared));
            assert_eq!(*s.leaves[1], 7);
            assert!(s.nested[0].is_empty());
            assert!(Rc::ptr_eq(&s.nested[1][0], shared));
            assert_eq!((*s.nested[2][0], *s.nested[2][1]), (8, 9));
            assert_eq!(s.nested.capacity(), 3);
            assert!(Rc::ptr_eq(&s.boxed[0], shared));
            assert_eq!(s.cells.iter().map(Cell::get).collect::<Vec<_>>(), [1, 2, 3]);
            assert_eq!(s.bytes, [4, 5]);
            assert!(Rc::ptr_eq(&s.weak[0].upgrade().unwrap(), shared));
            assert!(s.weak[1].upgrade().is_none());
            assert_eq!(*s.deque[0], 10);
        }
        assert!(root.below[1].below.is_empty());
        assert!(Rc::ptr_eq(&root.below[0].below[0], &root.below[1]));
    };
    let shared = Rc::new(6u32);
    let leaf = seqs(&shared, vec![]);
    let mid = seqs(&shared, vec![Rc::clone(&leaf)]);
    let root = seqs(&shared, vec![mid, leaf]);
    drop(shared);
    check(&root);
    // A copy and a move count the same bytes, and both arrive whole.
    let copied = Packed::copy(&root);
    let bytes = copied.bytes_copied();
    let mut value = other_side(move || {
        let got = copied.unpack();
        check(&got);
        Packed::new(got)
    })
    .unpack();
    check(&value);
    for _ in 0..3 {
        let packed = Packed::new(value);
        assert_eq!(packed.bytes_copied(), bytes);
        value = other_side(move || Packed::new(packed.unpack())).unpack();
        check(&value);
    }
    check(&root);

    // A node with no `Rc` below it but a sequence of local values.
    let cells = Rc::new(vec![Cell::new(1u8), Cell::new(2)]);
    let packed = Packed::copy(&cells);
    assert_eq!(
        packed.bytes_copied(),
        (size_of::<Vec<Cell<u8>>>() + 2) as u64
    );
    let back = other_side(move || Packed::new(packed.unpack())).unpack();
    assert_eq!(back.iter().map(Cell::get).collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn sharing_between_separate_parts_of_one_value() {
    let shared = Rc::new(RefCell::new(String::from("one")));
    let value = (
        Rc::clone(&shared),
        vec![Rc::clone(&shared)],
        Some(Box::new(Rc::clone(&shared))),
    );
    let back = Packed::new(value).unpack();
    assert!(Rc::ptr_eq(&back.0, &back.1[0]));
    assert!(Rc::ptr_eq(&back.0, &back.2.unwrap()));
    assert!(!Rc::ptr_eq(&back.0, &shared));
    back.0.borrow_mut().push('!');
    assert_eq!(*shared.borrow(), "one");
}

/// A tree with parent pointers: a cycle through `Weak`.
#[derive(subinterp::Transfer)]
struct TreeNode {
    name: String,
    parent: RefCell<Weak<TreeNode>>,
    children: RefCell<Vec<Rc<TreeNode>>>,
}

fn tree_node(name: &str, parent: Option<&Rc<TreeNode>>) -> Rc<TreeNode> {
    let node = Rc::new(TreeNode {
        name: name.into(),
        parent: RefCell::new(parent.map(Rc::downgrade).unwrap_or_default()),
        children: RefCell::new(vec![]),
    });
    if let Some(p) = parent {
        p.children.borrow_mut().push(Rc::clone(&node));
    }
    node
}

#[test]
fn weak_parent_pointers_are_preserved() {
    let root = tree_node("root", None);
    let left = tree_node("left", Some(&root));
    tree_node("right", Some(&root));
    tree_node("leaf", Some(&left));
    let (tx, rx) = transfer::unbounded::<Rc<TreeNode>>();
    tx.try_send_copy(&root).unwrap();
    let ok = other_side(move || {
        let root = rx.recv_blocking().unwrap();
        let children = root.children.borrow();
        let left = &children[0];
        let leaf = Rc::clone(&left.children.borrow()[0]);
        let leaf_parent = leaf.parent.borrow().upgrade().unwrap();
        let left_parent = left.parent.borrow().upgrade().unwrap();
        Rc::ptr_eq(&leaf_parent, left)
            && Rc::ptr_eq(&left_parent, &root)
            && Rc::ptr_eq(&children[1].parent.borrow().upgrade().unwrap(), &root)
            && root.parent.borrow().upgrade().is_none()
            && leaf.name == "leaf"
            && Rc::weak_count(&root) == 2
    });
    assert!(ok);
}

#[test]
fn weak_pointers_dangle_unless_their_target_crosses() {
    // Dangling on the sender: dangling on the receiver.
    let dangling: Weak<u8> = Weak::new();
    assert!(Packed::new(dangling).unpack().upgrade().is_none());
    // Its target is not part of the value: nothing keeps the copy alive.
    let target = Rc::new(5u8);
    assert!(Packed::new(Rc::downgrade(&target))
        .unpack()
        .upgrade()
        .is_none());
    // The Weak comes first, the Rc after it: the Weak points at the copy.
    let (w, rc) = Packed::new((Rc::downgrade(&target), Rc::clone(&target))).unpack();
    assert!(Rc::ptr_eq(&w.upgrade().unwrap(), &rc));
    assert!(!Rc::ptr_eq(&rc, &target));
    // The value owned its nodes: a Weak met after the owner was packed
    // still finds the node.
    let owned = Rc::new(7u8);
    let weak = Rc::downgrade(&owned);
    let (rc, w) = Packed::new((owned, weak)).unpack();
    assert!(Rc::ptr_eq(&w.upgrade().unwrap(), &rc));
}

#[derive(subinterp::Transfer)]
struct Link {
    next: RefCell<Option<Rc<Link>>>,
}

#[test]
#[should_panic(expected = "subinterp::transfer: strong Rc cycle")]
fn strong_rc_cycles_are_rejected_with_a_clear_panic() {
    let a = Rc::new(Link {
        next: RefCell::new(None),
    });
    let b = Rc::new(Link {
        next: RefCell::new(Some(Rc::clone(&a))),
    });
    *a.next.borrow_mut() = Some(Rc::clone(&b)); // a -> b -> a
    let (tx, _rx) = transfer::unbounded::<Rc<Link>>();
    let _ = tx.try_send_copy(&a);
}

#[test]
fn check_cycles_reports_strong_cycles_without_panicking() {
    let a = Rc::new(Link {
        next: RefCell::new(None),
    });
    assert!(Pack::check_cycles(&a).is_ok());
    *a.next.borrow_mut() = Some(Rc::clone(&a));
    let err = Pack::check_cycles(&a).unwrap_err();
    assert!(err.to_string().contains("Link"), "{err}");
    // Break the cycle so that the test does not leak.
    a.next.borrow_mut().take();
}

#[test]
fn cells_cross_as_their_contents() {
    let v = (Cell::new(3u32), RefCell::new(vec![1u8, 2]));
    let ptr = v.1.borrow().as_ptr() as usize;
    let p = Packed::new(v);
    assert_eq!(p.mode(), Mode::Moved);
    let (c, r) = p.unpack();
    assert_eq!((c.get(), r.borrow().as_ptr() as usize), (3, ptr));
    // Copied from a shared reference: a real copy.
    let shared = Rc::new((Cell::new(1u8), RefCell::new(vec![5u8; 10])));
    let copy = Packed::copy(&shared);
    assert_eq!(
        copy.bytes_copied(),
        (size_of::<(Cell<u8>, RefCell<Vec<u8>>)>() + 10) as u64
    );
    let copy = copy.unpack();
    shared.0.set(2);
    assert_eq!(copy.0.get(), 1);
}

#[test]
fn maps_and_sets_of_local_values_are_rebuilt() {
    let shared = Rc::new(1u64);
    let map: HashMap<String, Rc<u64>> = [("a".into(), Rc::clone(&shared)), ("b".into(), shared)]
        .into_iter()
        .collect();
    let tree: BTreeMap<u8, Rc<u64>> = [(1, Rc::new(2))].into_iter().collect();
    let set: HashSet<u8> = [1, 2].into_iter().collect();
    let bset: BTreeSet<String> = ["x".to_string()].into_iter().collect();
    let p = Packed::new((map, tree, set, bset));
    assert_eq!(p.mode(), Mode::Copied);
    let (map, tree, set, bset) = p.unpack();
    assert!(Rc::ptr_eq(&map["a"], &map["b"]));
    assert_eq!(*tree[&1], 2);
    assert!(set.contains(&2) && bset.contains("x"));
}

// ------------------------------------------------------------- derive

#[derive(subinterp::Transfer, Debug)]
struct Mixed {
    id: u64,
    blob: Frozen<Vec<u8>>,        // shared
    body: Vec<u8>,                // moved
    graph: Rc<RefCell<Vec<u16>>>, // copied
}

#[derive(subinterp::Transfer, Debug, PartialEq)]
struct Pair(u8, String);

#[derive(subinterp::Transfer, Debug, PartialEq)]
struct Unit;

#[derive(subinterp::Transfer, Debug)]
enum Event {
    Tick,
    Bytes(Vec<u8>),
    Shared { blob: Frozen<str> },
    Local(Rc<RefCell<Vec<u8>>>, Pair),
    Nested(Box<Event>),
}

#[derive(subinterp::Transfer, Debug, PartialEq)]
struct Generic<T, const N: usize> {
    items: [T; N],
    local: Option<Rc<T>>,
}

#[derive(subinterp::Transfer)]
#[transfer(move_only)]
struct MoveOnly {
    rx: transfer::Receiver<u8>,
}

#[test]
fn derive_on_structs_mixing_all_three_modes() {
    let blob = Frozen::from(vec![1u8; 4096]);
    let body = vec![2u8; 4096];
    let body_ptr = body.as_ptr() as usize;
    let graph = Rc::new(RefCell::new(vec![3u16; 100]));
    let m = Mixed {
        id: 7,
        blob: blob.clone(),
        body,
        graph: Rc::clone(&graph),
    };
    let (tx, rx) = transfer::bounded::<Mixed>(1);
    tx.send_blocking(m).unwrap();
    let blob_ptr = blob.as_ptr() as usize;
    let got = other_side(move || {
        let m = rx.recv_blocking().unwrap();
        m.graph.borrow_mut().push(4);
        let len = m.graph.borrow().len();
        (
            m.id,
            m.blob.as_ptr() as usize,
            m.body.as_ptr() as usize,
            len,
        )
    });
    assert_eq!(got, (7, blob_ptr, body_ptr, 101));
    assert_eq!(graph.borrow().len(), 100);
    let node = size_of::<RefCell<Vec<u16>>>() as u64;
    assert_eq!(tx.stats(), stats(0, 0, 1, node + 200));

    assert_eq!(
        Packed::new(Pair(1, "p".into())).unpack(),
        Pair(1, "p".into())
    );
    assert_eq!(Packed::new(Unit).unpack(), Unit);
    let rc = Rc::new(5u32);
    let g = Packed::new(Generic {
        items: [1u32, 2],
        local: Some(Rc::clone(&rc)),
    })
    .unpack();
    assert_eq!(g.items, [1, 2]);
    assert!(!Rc::ptr_eq(g.local.as_ref().unwrap(), &rc));
    assert_eq!(g.local.as_deref(), Some(&5));
}

#[test]
fn derive_on_enums_mixing_all_three_modes() {
    let (tx, rx) = transfer::unbounded::<Event>();
    let local = Rc::new(RefCell::new(vec![9u8; 10]));
    let events = vec![
        Event::Tick,
        Event::Bytes(vec![1, 2, 3]),
        Event::Shared {
            blob: Frozen::from("frozen"),
        },
        Event::Local(Rc::clone(&local), Pair(2, "two".into())),
        Event::Nested(Box::new(Event::Bytes(vec![4]))),
    ];
    for e in events {
        tx.try_send(e).unwrap();
    }
    drop(tx.clone());
    let described = other_side(move || {
        rx.try_iter()
            .map(|e| match e {
                Event::Tick => "tick".to_string(),
                Event::Bytes(b) => format!("bytes {b:?}"),
                Event::Shared { blob } => format!("shared {blob}"),
                Event::Local(l, p) => format!("local {} {:?}", l.borrow().len(), p),
                Event::Nested(inner) => format!("nested {inner:?}"),
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(
        described,
        [
            "tick",
            "bytes [1, 2, 3]",
            "shared frozen",
            "local 10 Pair(2, \"two\")",
            "nested Bytes([4])"
        ]
    );
    // Tick: bits only (moved); Bytes: moved; Shared: shared; Local: copied; Nested: moved.
    let node = size_of::<RefCell<Vec<u8>>>() as u64;
    assert_eq!(tx.stats(), stats(1, 3, 1, node + 10));
}

#[test]
fn derive_move_only_and_channels_over_channels() {
    let (inner_tx, inner_rx) = transfer::unbounded::<u8>();
    let (tx, rx) = transfer::unbounded::<MoveOnly>();
    tx.try_send(MoveOnly { rx: inner_rx }).unwrap();
    inner_tx.try_send(8).unwrap();
    let got = other_side(move || rx.recv_blocking().unwrap().rx.recv_blocking().unwrap());
    assert_eq!(got, 8);
}

// ------------------------------------------------------------- stats

#[test]
fn stats_add_up_per_channel_thread_and_globally() {
    let global_before = transfer::global_stats();
    let (per_channel, per_thread) = other_side(|| {
        let before = transfer::thread_stats();
        let (tx, rx) =
            transfer::unbounded::<(Option<Frozen<[u8]>>, Vec<u8>, Option<Rc<Vec<u8>>>)>();
        let frozen: Frozen<[u8]> = Frozen::from(&[0u8; 64][..]);
        tx.try_send((Some(frozen.clone()), vec![], None)).unwrap(); // moved (an empty Vec)
        tx.try_send((Some(frozen), Vec::new(), None)).unwrap(); // moved
        let tx2 = tx.clone();
        tx2.try_send((None, vec![0; 64], Some(Rc::new(vec![0; 64]))))
            .unwrap(); // copied: node + 64
        let copy = (None, vec![1u8; 10], None);
        tx.try_send_copy(&copy).unwrap(); // copied: 10
        assert_eq!(rx.try_iter().count(), 4);
        rx.close();
        assert!(tx.try_send((None, vec![], None)).is_err()); // not counted
        (tx.stats(), transfer::thread_stats() - before)
    });
    let node = size_of::<Vec<u8>>() as u64;
    let expect = stats(0, 2, 2, node + 64 + 10);
    assert_eq!(per_channel, expect);
    assert_eq!(per_thread, expect);
    let global = transfer::global_stats() - global_before;
    assert!(global.moved >= 2 && global.copied >= 2);
    assert!(global.bytes_copied >= expect.bytes_copied);

    // Shared-only transfers count as shared.
    let (tx, _rx) = transfer::unbounded::<(Frozen<str>, u8)>();
    tx.try_send((Frozen::from("s"), 1)).unwrap();
    tx.try_send_copy(&(Frozen::from("s"), 1)).unwrap();
    assert_eq!(tx.stats(), stats(2, 0, 0, 0));
    // Bits only: moved when sent, copied (with no heap bytes) when copied.
    let (tx, _rx) = transfer::unbounded::<u64>();
    tx.try_send(1).unwrap();
    tx.try_send_copy(&1).unwrap();
    assert_eq!(tx.stats(), stats(0, 1, 1, 0));
}

#[test]
fn interpreter_stats_count_the_transfers_packed_there() {
    use subinterp::Interpreter;
    let global_before = transfer::global_stats();
    let sender = Interpreter::builder().name("xfer-sender").build().unwrap();
    let receiver = Interpreter::builder()
        .name("xfer-receiver")
        .build()
        .unwrap();
    type Msg = (Option<Frozen<[u8]>>, Vec<u8>, Option<Rc<RefCell<Vec<u8>>>>);
    let (tx, rx) = transfer::bounded::<Msg>(1);
    let sending = sender.spawn(move || async move {
        let frozen: Frozen<[u8]> = Frozen::from(&[0u8; 64][..]);
        tx.send((Some(frozen), vec![], None)).await.unwrap(); // moved (an empty Vec)
        tx.send((None, vec![1; 100], None)).await.unwrap(); // moved
        let local = Rc::new(RefCell::new(vec![2u8; 300]));
        tx.send((None, vec![], Some(Rc::clone(&local))))
            .await
            .unwrap(); // copied: node + 300
        tx.send_copy(&(None, vec![3u8; 10], None)).await.unwrap(); // copied: 10
                                                                   // A second channel, of shared values only.
        let (ftx, frx) = transfer::unbounded::<Frozen<[u8]>>();
        ftx.try_send(Frozen::from(&[9u8; 8][..])).unwrap(); // shared
        drop(frx.try_recv().unwrap());
        let kept_len = local.borrow().len();
        let channel = tx.stats();
        drop(tx); // closes the channel: the receiver's loop ends
        (kept_len, channel, ftx.stats())
    });
    let receiving = receiver.spawn(move || async move {
        let mut bytes = 0;
        let mut rcs = 0;
        while let Ok((_, v, rc)) = rx.recv().await {
            bytes += v.len();
            if let Some(rc) = rc {
                rc.borrow_mut().push(0); // the receiver's own copy
                rcs += rc.borrow().len();
            }
            // Re-packing on the receiver counts there, not on the sender.
            drop(Packed::new(v));
        }
        (bytes, rcs)
    });
    let (kept_len, channel, frozen_channel) = sending.join_blocking().unwrap();
    assert_eq!(receiving.join_blocking().unwrap(), (110, 301));
    assert_eq!(
        kept_len, 300,
        "the sender's Rc is untouched by the receiver"
    );

    let node = size_of::<RefCell<Vec<u8>>>() as u64;
    assert_eq!(channel, stats(0, 2, 2, node + 300 + 10));
    // The sender's interpreter: its two channels, and nothing else.
    let on_sender = sender.stats().transfer;
    assert_eq!(on_sender, channel + frozen_channel);
    assert_eq!(on_sender, stats(1, 2, 2, node + 310));
    // The receiver packed four `Packed::new(Vec<u8>)`: moves, no bytes.
    assert_eq!(receiver.stats().transfer, stats(0, 4, 0, 0));
    // The global snapshot holds both (other tests may run alongside).
    let global = transfer::global_stats() - global_before;
    let both = on_sender + receiver.stats().transfer;
    assert!(global.shared >= both.shared && global.moved >= both.moved);
    assert!(global.copied >= both.copied && global.bytes_copied >= both.bytes_copied);
    // The stats survive shutdown.
    sender.shutdown();
    assert_eq!(sender.stats().transfer, on_sender);
    assert!(sender
        .stats()
        .to_string()
        .contains("transfers shared 1 moved 2 copied 2"));
}

#[test]
fn send_copy_keeps_the_original_and_copies_the_bytes() {
    let v = vec![5u8; 4096];
    let (tx, rx) = transfer::bounded::<Vec<u8>>(1);
    tx.send_copy_blocking(&v).unwrap();
    let got = rx.recv_blocking().unwrap();
    assert_eq!(got, v);
    assert_ne!(got.as_ptr(), v.as_ptr());
    assert_eq!(tx.stats(), stats(0, 0, 1, 4096));
}

// ------------------------------------------------------------- channel API

fn block_on<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

#[test]
fn async_send_and_recv_across_threads() {
    let (tx, rx) = transfer::bounded::<Rc<String>>(0);
    let t = thread::spawn(move || {
        block_on(async {
            let mut total = 0;
            while let Ok(s) = rx.recv().await {
                total += s.len();
            }
            total
        })
    });
    block_on(async {
        for i in 0..100 {
            tx.send(Rc::new(i.to_string())).await.unwrap();
        }
        tx.send_copy(&Rc::new("xyz".to_string())).await.unwrap();
    });
    drop(tx);
    assert_eq!(t.join().unwrap(), 190 + 3);
}

#[test]
fn failed_sends_give_the_value_back() {
    let (tx, rx) = transfer::bounded::<(Vec<u8>, Rc<u8>)>(1);
    let v = vec![1u8; 16];
    let ptr = v.as_ptr();
    tx.try_send((v, Rc::new(1))).unwrap();
    let (v, rc) = tx.try_send((vec![2], Rc::new(2))).unwrap_err().into_inner();
    assert_eq!((v, *rc), (vec![2], 2));
    let err = tx
        .send_timeout((vec![3], Rc::new(3)), Duration::from_millis(1))
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(tx
        .try_send_copy(&(vec![4], Rc::new(4)))
        .unwrap_err()
        .is_full());
    let (got, _) = rx.try_recv().unwrap();
    assert_eq!(got.as_ptr(), ptr);
    drop(rx);
    let (v, _) = tx.send_blocking((vec![5], Rc::new(5))).unwrap_err().0;
    assert_eq!(v, [5]);
    assert!(tx.send_copy_blocking(&(vec![6], Rc::new(6))).is_err());
    assert_eq!(tx.stats(), stats(0, 0, 1, 1));
    assert!(tx.is_closed() && tx.is_empty() && tx.capacity() == Some(1));
}

// ------------------------------------------------------------- drops

/// Counts its live instances; crosses as a packet that is not an instance.
struct Tracked {
    live: Arc<AtomicIsize>,
}

impl Tracked {
    fn new(live: &Arc<AtomicIsize>) -> Tracked {
        live.fetch_add(1, SeqCst);
        Tracked {
            live: Arc::clone(live),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, SeqCst);
    }
}

impl Transfer for Tracked {
    type Packet = Arc<AtomicIsize>;
    fn pack(self, _cx: &mut Pack) -> Self::Packet {
        Arc::clone(&self.live) // `self` is dropped here: one instance less
    }
    fn unpack(live: Self::Packet, _cx: &mut Unpack) -> Self {
        Tracked::new(&live)
    }
}

impl DeepCopy for Tracked {
    fn pack_copy(&self, _cx: &mut Pack) -> Self::Packet {
        Arc::clone(&self.live)
    }
}

type Graph = Rc<RefCell<Vec<Tracked>>>;

fn graph(live: &Arc<AtomicIsize>, n: usize) -> (Graph, Graph) {
    let g = Rc::new(RefCell::new((0..n).map(|_| Tracked::new(live)).collect()));
    (Rc::clone(&g), g)
}

#[test]
fn drops_are_accounted_through_every_path() {
    let live = Arc::new(AtomicIsize::new(0));
    let count = || live.load(SeqCst);
    {
        let (tx, rx) = transfer::bounded::<(Tracked, Graph)>(1);
        // Sent: only a packet (no instance) is in the channel; received,
        // then dropped by the receiver.
        tx.try_send((Tracked::new(&live), graph(&live, 3).0))
            .unwrap();
        assert_eq!(count(), 0);
        let rx = other_side(move || {
            drop(rx.recv_blocking().unwrap());
            rx
        });
        assert_eq!(count(), 0);
        // Full: given back (rebuilt), then dropped by the sender.
        tx.try_send((Tracked::new(&live), graph(&live, 2).0))
            .unwrap();
        let back = tx
            .try_send((Tracked::new(&live), graph(&live, 2).0))
            .unwrap_err();
        assert_eq!(count(), 3);
        drop(back);
        assert_eq!(count(), 0);
        // A send_copy: the original stays with the sender.
        let kept = (Tracked::new(&live), graph(&live, 1).0);
        assert_eq!(count(), 2);
        assert!(tx.try_send_copy(&kept).is_err()); // full: the copy is dropped
        assert_eq!(count(), 2);
        drop(rx.try_recv().unwrap());
        assert_eq!(count(), 2);
        tx.try_send_copy(&kept).unwrap();
        drop(kept);
        assert_eq!(count(), 0);
        assert_eq!(rx.try_recv().map(|(_, g)| g.borrow().len()), Ok(1));
        assert_eq!(count(), 0);
        // Buffered when the channel goes away: dropped with it.
        tx.try_send((Tracked::new(&live), graph(&live, 4).0))
            .unwrap();
        drop((tx, rx));
        assert_eq!(count(), 0);
    }
    {
        // An async send dropped before completing drops its value; an
        // async recv dropped before completing loses nothing.
        let (tx, rx) = transfer::bounded::<Graph>(0);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        {
            let mut recv = pin!(rx.recv());
            assert!(recv.as_mut().poll(&mut cx).is_pending());
        }
        {
            let (g, keep) = graph(&live, 2);
            let mut send = pin!(tx.send(g));
            assert!(send.as_mut().poll(&mut cx).is_pending());
            assert_eq!(count(), 2); // the sender's handle keeps the original
            drop(keep);
            assert_eq!(count(), 0); // the packet holds no instance
        }
        assert!(rx.try_recv().is_err());
        let (g, _keep) = graph(&live, 1);
        let t = thread::spawn(move || rx.recv_blocking().map(|g| g.borrow().len()));
        block_on(tx.send(g)).unwrap();
        assert_eq!(t.join().unwrap(), Ok(1));
        drop(_keep);
        assert_eq!(count(), 0);
    }
    {
        // Packed values dropped unopened, and weak-linked trees.
        let p = Packed::copy(&graph(&live, 5).0);
        assert_eq!(count(), 0);
        drop(p);
        let root = tree_node("root", None);
        tree_node("child", Some(&root));
        let copy = Packed::copy(&root).unpack();
        assert_eq!(Rc::strong_count(&copy), 1);
        assert_eq!(Rc::weak_count(&copy), 1);
        let weak = Rc::downgrade(&copy);
        drop(copy);
        assert!(weak.upgrade().is_none()); // no strong cycle: freed
    }
    assert_eq!(count(), 0);
}

// Transfer channels work as select cases: a receive case unpacks in the
// selecting thread, a send case counts only if it runs and gives an unsent
// value back unpacked.
#[test]
fn transfer_channels_in_select() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let (tx, rx) = subinterp::transfer::bounded::<Rc<RefCell<Vec<u8>>>>(1);
    let (_plain_tx, plain_rx) = subinterp::bounded::<u8>(1);
    let original = Rc::new(RefCell::new(vec![1, 2, 3]));
    let fired = subinterp::select_blocking! {
        r = send(&tx, original.clone()) => { r.unwrap(); true },
        _ = recv(&plain_rx) => false,
    };
    assert!(fired);
    assert_eq!(tx.stats().copied, 1);
    let t = std::thread::spawn(move || {
        let got = subinterp::select_blocking! {
            v = recv(&rx) => v.unwrap(),
        };
        got.borrow_mut().push(4);
        let v = got.borrow().clone();
        v
    });
    assert_eq!(t.join().unwrap(), vec![1, 2, 3, 4]);
    // The sender's graph is untouched by the receiver's mutation.
    assert_eq!(*original.borrow(), vec![1, 2, 3]);

    // A closed transfer channel gives the value back, unpacked.
    let (tx, rx) = subinterp::transfer::unbounded::<String>();
    drop(rx);
    let back = subinterp::select_blocking! {
        r = send(&tx, "kept".to_string()) => r.unwrap_err().into_inner(),
    };
    assert_eq!(back, "kept");
    assert_eq!(tx.stats().moved, 0);
}
