//! Tensors on the device ([`BufferView`]) and their way to and from host
//! arrays ([`NpyArray`]).

use irex_runtime_sys as sys;

use super::handle::Handle;
use super::status::check;
use crate::formats::npy::NpyArray;
use crate::iree::IreeError;
use crate::tensor::ElementType;

/// A tensor held by the runtime (a function's result, or host data
/// uploaded for a call). Results stay on the device until read, so a KV
/// cache passes from one call to the next without a copy.
pub struct BufferView(pub(super) Handle<sys::iree_hal_buffer_view_t>);

impl BufferView {
    /// Dimensions, outermost first.
    pub fn shape(&self) -> Vec<u64> {
        let view = self.0.get();
        // SAFETY: the view is live; IREE returns its rank and a pointer to
        // that many dimensions, valid while the view is.
        unsafe {
            let rank = sys::iree_hal_buffer_view_shape_rank(view);
            let dims = sys::iree_hal_buffer_view_shape_dims(view);
            (0..rank).map(|axis| *dims.add(axis) as u64).collect()
        }
    }

    /// The element type, if irex knows it.
    pub fn element(&self) -> Option<ElementType> {
        // SAFETY: the view is live.
        element_from_iree(unsafe { sys::iree_hal_buffer_view_element_type(self.0.get()) })
    }

    fn byte_length(&self) -> u64 {
        // SAFETY: the view is live.
        unsafe { sys::iree_hal_buffer_view_byte_length(self.0.get()) as u64 }
    }
}

/// IREE's element type for `element`. Integers are signless (`INT_n`),
/// as the compiler types a function's `iN` arguments; unsigned ones are
/// `UINT_n`.
fn element_to_iree(element: ElementType) -> Option<sys::iree_hal_element_type_t> {
    use ElementType::*;
    Some(match element {
        F64 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_FLOAT_64,
        F32 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_FLOAT_32,
        F16 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_FLOAT_16,
        BF16 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_BFLOAT_16,
        I64 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_INT_64,
        I32 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_INT_32,
        I16 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_INT_16,
        I8 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_INT_8,
        U64 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_UINT_64,
        U32 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_UINT_32,
        U16 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_UINT_16,
        U8 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_UINT_8,
        Bool => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_BOOL_8,
        C64 => sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_COMPLEX_FLOAT_64,
        _ => return None,
    })
}

/// The irex element type of an IREE one; signed, unsigned and signless
/// integers of a width all read as irex's integer of that width.
fn element_from_iree(element: sys::iree_hal_element_type_t) -> Option<ElementType> {
    use ElementType::*;
    Some(match element {
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_FLOAT_64 => F64,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_FLOAT_32 => F32,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_FLOAT_16 => F16,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_BFLOAT_16 => BF16,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_INT_64
        | sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_SINT_64 => I64,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_INT_32
        | sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_SINT_32 => I32,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_INT_16
        | sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_SINT_16 => I16,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_INT_8
        | sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_SINT_8 => I8,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_UINT_64 => U64,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_UINT_32 => U32,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_UINT_16 => U16,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_UINT_8 => U8,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_BOOL_8 => Bool,
        sys::iree_hal_element_types_t_IREE_HAL_ELEMENT_TYPE_COMPLEX_FLOAT_64 => C64,
        _ => return None,
    })
}

/// Copies `array` into a new device buffer of `device`.
pub(super) fn upload(
    device: *mut sys::iree_hal_device_t,
    array: &NpyArray,
) -> Result<BufferView, IreeError> {
    let refused = |message: String| IreeError::Runtime {
        action: format!(
            "uploading a {:?} array of shape {:?}",
            array.element, array.shape
        ),
        code: "INVALID_ARGUMENT",
        message,
    };
    let element = element_to_iree(array.element)
        .ok_or_else(|| refused("the runtime has no such element type".into()))?;
    let expected = array.shape.iter().try_fold(
        array.element.byte_size().unwrap_or(0) as u64,
        |bytes, dim| bytes.checked_mul(*dim),
    );
    if expected != Some(array.data.len() as u64) {
        return Err(refused(format!(
            "{} data bytes for that shape",
            array.data.len()
        )));
    }
    let shape: Vec<sys::iree_hal_dim_t> = array.shape.iter().map(|&dim| dim as _).collect();
    let params = sys::iree_hal_buffer_params_t {
        usage: sys::iree_hal_buffer_usage_bits_t_IREE_HAL_BUFFER_USAGE_DEFAULT as _,
        type_: sys::iree_hal_memory_type_bits_t_IREE_HAL_MEMORY_TYPE_DEVICE_LOCAL as _,
        ..Default::default()
    };
    let data = sys::iree_const_byte_span_t {
        data: array.data.as_ptr(),
        data_length: array.data.len(),
    };
    let mut view = Handle::empty(sys::iree_hal_buffer_view_release);
    // SAFETY: `device` is live (the session holds it); shape and data
    // outlive the call, which copies the data into the new buffer.
    let status = unsafe {
        sys::iree_hal_buffer_view_allocate_buffer_copy(
            device,
            sys::iree_hal_device_allocator(device),
            shape.len(),
            shape.as_ptr(),
            element,
            sys::iree_hal_encoding_types_t_IREE_HAL_ENCODING_TYPE_DENSE_ROW_MAJOR as _,
            params,
            data,
            view.slot(),
        )
    };
    check(status, || {
        format!(
            "uploading a {:?} array of shape {:?}",
            array.element, array.shape
        )
    })?;
    Ok(BufferView(view))
}

/// Copies `view` from `device` to a host array.
pub(super) fn download(
    device: *mut sys::iree_hal_device_t,
    view: &BufferView,
) -> Result<NpyArray, IreeError> {
    let shape = view.shape();
    let element = view.element().ok_or_else(|| IreeError::Runtime {
        action: format!("reading a result of shape {shape:?}"),
        code: "UNIMPLEMENTED",
        message: "irex cannot read its element type".into(),
    })?;
    let mut data = vec![0u8; view.byte_length() as usize];
    let timeout = sys::iree_timeout_t {
        type_: sys::iree_timeout_type_e_IREE_TIMEOUT_ABSOLUTE as _,
        nanos: i64::MAX,
    };
    // SAFETY: the view and device are live; `data` has exactly the view's
    // byte length; the call waits until the copy is done.
    let status = unsafe {
        sys::iree_hal_device_transfer_d2h(
            device,
            sys::iree_hal_buffer_view_buffer(view.0.get()),
            0,
            data.as_mut_ptr().cast(),
            data.len() as _,
            sys::iree_hal_transfer_buffer_flag_bits_t_IREE_HAL_TRANSFER_BUFFER_FLAG_DEFAULT as _,
            timeout,
        )
    };
    check(status, || format!("reading a result of shape {shape:?}"))?;
    Ok(NpyArray {
        shape,
        element,
        data,
    })
}
