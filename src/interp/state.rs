//! Per-interpreter state: one instance of each type per interpreter, the
//! `sys.modules` of a subinterpreter.

use super::executor::current_local;
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// The state registry of one interpreter (used only from its thread).
#[derive(Default)]
pub(crate) struct StateMap {
    map: RefCell<HashMap<TypeId, Rc<dyn Any>>>,
    /// Creation order, so that `clear` drops in reverse order of creation.
    order: RefCell<Vec<TypeId>>,
}

impl StateMap {
    fn get_or_init<S: Default + 'static>(&self) -> Rc<S> {
        let id = TypeId::of::<S>();
        if let Some(s) = self.map.borrow().get(&id) {
            return s.clone().downcast::<S>().expect("keyed by its TypeId");
        }
        // Made outside the borrow: `S::default()` may itself call `state()`.
        let fresh: Rc<dyn Any> = Rc::new(S::default());
        let s = self
            .map
            .borrow_mut()
            .entry(id)
            .or_insert_with(|| {
                self.order.borrow_mut().push(id);
                fresh
            })
            .clone();
        s.downcast::<S>().expect("keyed by its TypeId")
    }

    /// Drops every instance, the newest first (a destructor may still read
    /// older state).
    pub(crate) fn clear(&self) {
        loop {
            let Some(id) = self.order.borrow_mut().pop() else {
                break;
            };
            let s = self.map.borrow_mut().remove(&id);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(s)));
        }
    }
}

/// This interpreter's own instance of `S`, created with `S::default()` on
/// first use and dropped when the interpreter shuts down. Distinct
/// interpreters see distinct instances, as CPython subinterpreters each have
/// their own modules. Use `Cell`/`RefCell` inside `S` for mutation.
///
/// # Panics
///
/// Outside an interpreter (a plain thread has no interpreter state).
///
/// ```
/// use std::cell::Cell;
/// #[derive(Default)]
/// struct Counter(Cell<u32>);
///
/// let a = subinterp::Interpreter::new().unwrap();
/// let b = subinterp::Interpreter::new().unwrap();
/// let bump = || {
///     let c = subinterp::state::<Counter>();
///     c.0.set(c.0.get() + 1);
///     c.0.get()
/// };
/// assert_eq!(a.call(bump).unwrap(), 1);
/// assert_eq!(a.call(bump).unwrap(), 2);
/// assert_eq!(b.call(bump).unwrap(), 1); // b has its own Counter
/// ```
pub fn state<S: Default + 'static>() -> Rc<S> {
    let local = current_local().unwrap_or_else(|| {
        panic!(
            "subinterp::state::<{}>() called outside an interpreter: interpreter state exists \
             only inside a task or an Interpreter::call closure",
            std::any::type_name::<S>()
        )
    });
    local.state.get_or_init::<S>()
}
