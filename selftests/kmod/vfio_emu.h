/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfio_emu.ko's device ioctls (selftests/kmod/vfio_emu.c), shared with
 * selftests/vfio_emu.c.  The device is an emulated one, as an mdev
 * driver's: it reaches user memory only through the container's
 * pin_pages, unpin_pages and dma_rw, and hears of unmaps by dma_unmap.
 */
#ifndef SELFTESTS_VFIO_EMU_H
#define SELFTESTS_VFIO_EMU_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Pin @npage pages from @iova (vfio_pin_pages()) and keep them pinned.
 * Each page's first 8 bytes are added into @sum; with @write, the IOVA of
 * each page is then written there.  Returns the pages pinned or -errno.
 */
struct vfio_emu_pin {
	__u64 iova;
	__u32 npage;
	__u32 write;
	__u64 sum;
};

#define VFIO_EMU_PIN		_IOWR('E', 1, struct vfio_emu_pin)

/* Unpin pages pinned by VFIO_EMU_PIN: iova and npage only */
#define VFIO_EMU_UNPIN		_IOW('E', 2, struct vfio_emu_pin)

/* vfio_dma_rw() of @len bytes between @iova and the buffer at @uaddr */
struct vfio_emu_rw {
	__u64 iova;
	__u64 uaddr;
	__u64 len;
	__u32 write;
	__u32 __reserved;
};

#define VFIO_EMU_RW		_IOW('E', 3, struct vfio_emu_rw)

/* What the device holds and has heard */
struct vfio_emu_state {
	__u64 pinned;		/* pages pinned now */
	__u64 unmaps;		/* dma_unmap calls */
	__u64 unpinned_by_unmap;	/* pages they made it unpin */
	__u64 last_iova;	/* range of the last dma_unmap */
	__u64 last_length;
};

#define VFIO_EMU_STATE		_IOR('E', 4, struct vfio_emu_state)

#endif
