// What irex calls in the IREE runtime; bindgen reads this header.
#include "iree/async/util/proactor_pool.h"
#include "iree/base/api.h"
#include "iree/base/threading/numa.h"
#include "iree/hal/api.h"
#include "iree/hal/drivers/local_task/task_device.h"
#include "iree/hal/drivers/local_task/task_driver.h"
#include "iree/hal/local/executable_loader.h"
#include "iree/hal/local/executable_plugin_manager.h"
#include "iree/hal/local/loaders/embedded_elf_loader.h"
#include "iree/hal/utils/caching_allocator.h"
#include "iree/io/file_handle.h"
#include "iree/io/formats/parser_registry.h"
#include "iree/io/parameter_index.h"
#include "iree/io/parameter_index_provider.h"
#include "iree/modules/io/parameters/module.h"
#include "iree/runtime/api.h"
#include "iree/task/executor.h"
#include "iree/task/topology.h"
#include "iree/vm/api.h"
#include "iree/vm/bytecode/module.h"

// The system allocator's control function (`iree_allocator_system()` is an
// inline function over it). iree/base/allocator_libc.c defines it and no
// header declares it.
IREE_API_EXPORT iree_status_t iree_allocator_libc_ctl(
    void* self, iree_allocator_command_t command, const void* params,
    void** inout_ptr);
