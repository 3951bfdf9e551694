//! `iree_status_t` to [`IreeError::Runtime`], and the few `static inline`
//! helpers of IREE's headers that bindgen cannot bind, written out.

use std::ffi::c_char;

use irex_runtime_sys as sys;

use crate::iree::IreeError;

/// IREE's system allocator (`iree_allocator_system()`, an inline function
/// in C): libc's `malloc`/`free`.
pub(super) fn system_allocator() -> sys::iree_allocator_t {
    sys::iree_allocator_t {
        self_: std::ptr::null_mut(),
        ctl: Some(sys::iree_allocator_libc_ctl),
    }
}

/// A view of `text` for the duration of a call (`iree_make_string_view`).
pub(super) fn string_view(text: &str) -> sys::iree_string_view_t {
    sys::iree_string_view_t {
        data: text.as_ptr().cast::<c_char>(),
        size: text.len(),
    }
}

/// Turns `status` into a result, freeing it. `action` says what was being
/// done ("loading module `model.vmfb`") and leads the error's message.
pub(super) fn check(
    status: sys::iree_status_t,
    action: impl FnOnce() -> String,
) -> Result<(), IreeError> {
    if status.is_null() {
        return Ok(());
    }
    let code = status_code(status);
    let message = format_status(status);
    // SAFETY: `status` is a non-OK status this function owns; it is freed
    // once, here, after its message was copied out.
    unsafe { sys::iree_status_free(status) };
    Err(IreeError::Runtime {
        action: action(),
        code,
        message,
    })
}

/// The status code's name (`NOT_FOUND`, ...), from the low bits of the
/// status pointer as IREE's `iree_status_code` macro reads them.
fn status_code(status: sys::iree_status_t) -> &'static str {
    let code = (status as usize) & (sys::iree_status_code_e_IREE_STATUS_CODE_MASK as usize);
    // SAFETY: `iree_status_code_string` maps any code to a static string.
    let name = unsafe { std::ffi::CStr::from_ptr(sys::iree_status_code_string(code as _)) };
    name.to_str().unwrap_or("UNKNOWN")
}

/// IREE's message for `status`, on one line: IREE formats a status as
/// `FILE:LINE: CODE; message; annotations`, then a VM stack trace on
/// further lines; irex keeps the message and annotations (the code is
/// reported beside them) and leaves out the C source location and trace.
fn format_status(status: sys::iree_status_t) -> String {
    let mut length = 0usize;
    // SAFETY: with capacity 0 and a null buffer IREE only reports the
    // length the message needs.
    unsafe { sys::iree_status_format(status, 0, std::ptr::null_mut(), &mut length) };
    let mut buffer = vec![0u8; length + 1];
    let mut written = 0usize;
    // SAFETY: `buffer` has room for `length` characters and the NUL.
    let formatted = unsafe {
        sys::iree_status_format(
            status,
            buffer.len(),
            buffer.as_mut_ptr().cast(),
            &mut written,
        )
    };
    if !formatted {
        return "(IREE could not format its status)".into();
    }
    buffer.truncate(written.min(length));
    one_line(&String::from_utf8_lossy(&buffer))
}

fn one_line(formatted: &str) -> String {
    let mut lines = formatted.lines().map(str::trim);
    let first = lines.next().unwrap_or_default();
    let message = match first.split_once(": ") {
        Some((location, rest)) if location.contains(".c:") || location.contains(".h:") => rest,
        _ => first,
    };
    let message = match message.split_once("; ") {
        Some((code, rest)) if code.chars().all(|c| c.is_ascii_uppercase() || c == '_') => rest,
        _ => message,
    };
    let annotations = lines.filter(|line| !line.is_empty() && !line.starts_with('['));
    std::iter::once(message.trim_end_matches(';'))
        .chain(annotations)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_status_reads_as_its_message_without_location_or_trace() {
        let formatted = "iree/runtime/src/iree/io/parameter_index.c:246: NOT_FOUND; no parameter \
            found in index with key 'w'; while invoking native function io_parameters.load; \
            while calling import;\n[ 0] bytecode llama@3:14794 -";
        assert_eq!(
            one_line(formatted),
            "no parameter found in index with key 'w'; while invoking native function \
             io_parameters.load; while calling import"
        );
        assert_eq!(one_line("plain words"), "plain words");
    }
}
