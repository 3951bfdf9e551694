//! One owner per runtime handle: [`Handle`] pairs a pointer with the
//! function that releases it, so that every early return lets go of what
//! was made before it.

/// A retained IREE object, released when dropped.
pub(super) struct Handle<T> {
    pointer: *mut T,
    release: unsafe extern "C" fn(*mut T),
}

impl<T> Handle<T> {
    /// Takes ownership of one reference to `pointer` (which may be null:
    /// a handle not yet filled in by a create call).
    pub(super) fn new(pointer: *mut T, release: unsafe extern "C" fn(*mut T)) -> Self {
        Self { pointer, release }
    }

    /// An empty handle, for a create call to fill through [`Self::slot`].
    pub(super) fn empty(release: unsafe extern "C" fn(*mut T)) -> Self {
        Self::new(std::ptr::null_mut(), release)
    }

    /// Where a create call writes the new object.
    pub(super) fn slot(&mut self) -> &mut *mut T {
        &mut self.pointer
    }

    /// The object, for calls that borrow it.
    pub(super) fn get(&self) -> *mut T {
        self.pointer
    }
}

impl<T> Drop for Handle<T> {
    fn drop(&mut self) {
        if !self.pointer.is_null() {
            // SAFETY: the handle owns one reference, released once here
            // with the function its create call pairs with.
            unsafe { (self.release)(self.pointer) };
        }
    }
}
