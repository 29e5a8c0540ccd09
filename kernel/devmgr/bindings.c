/* kernel/devmgr/bindings.c — the binding table: every driver capOS carries.
 * Each entry has a provenance page under docs/devices/ (checked by
 * tests/docs_check.py). Order matters only when two drivers match one
 * function: the first wins. */
#include "kernel/devmgr/devmgr.h"

extern const struct driver edu_driver;
extern const struct driver virtio_net_driver;
extern const struct driver nvme_driver;
extern const struct driver gve_driver;

const struct driver *const devmgr_drivers[] = {
    &edu_driver,
    &virtio_net_driver,
    &nvme_driver,
    &gve_driver,
};
const unsigned devmgr_ndrivers =
    sizeof(devmgr_drivers) / sizeof(devmgr_drivers[0]);
