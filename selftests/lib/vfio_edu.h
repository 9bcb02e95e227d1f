/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A user-space driver for QEMU's edu PCI device (1234:11e8) behind a VFIO
 * type1 container, as legacy VFIO programs do it: container, group,
 * device, BAR0 mmap, bus mastering.
 *
 * edu's DMA engine: 0x80 source, 0x88 destination, 0x90 count, 0x98
 * command (bit 0 start and busy, bit 1 device to RAM).  Its buffer is at
 * device address 0x40000, 4 KiB; QEMU 7.2 aborts the VM when a transfer
 * reaches the buffer's end, so transfers stay shorter.  DMA addresses are
 * masked to 28 bits: IOVAs must stay below 256 MiB.
 */
#ifndef SELFTESTS_VFIO_EDU_H
#define SELFTESTS_VFIO_EDU_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_START 0x1
#define EDU_CMD_TO_RAM 0x2
#define EDU_BUFFER 0x40000
#define EDU_BUFFER_SIZE 4096

struct edu {
	char bdf[32];
	int container;
	int group;
	int device;
	volatile __u8 *bar0;
	size_t bar0_size;
};

/* The first edu device's PCI address, from sysfs; 0 if found */
static inline int edu_find(char *bdf, size_t len)
{
	DIR *dir = opendir("/sys/bus/pci/devices");
	struct dirent *d;
	int rc = -1;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		char path[PATH_MAX], id[16] = "";
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(id, sizeof(id), f))
			id[0] = 0;
		fclose(f);
		if (!strncmp(id, "0x11e8", 6)) {
			snprintf(bdf, len, "%.*s", (int)len - 1, d->d_name);
			rc = 0;
			break;
		}
	}
	closedir(dir);
	return rc;
}

/*
 * Open the container and the edu's group, set the IOMMU type and get the
 * device with BAR0 mapped and bus mastering on.  Returns 0 or an errno.
 */
static inline int edu_open(struct edu *edu, unsigned long iommu_type)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_region_info bar = {
		.argsz = sizeof(bar),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	struct vfio_region_info cfg = {
		.argsz = sizeof(cfg),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	char path[PATH_MAX], link[PATH_MAX];
	__u16 command;
	ssize_t n;

	if (edu_find(edu->bdf, sizeof(edu->bdf)))
		return ENODEV;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 edu->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return errno;
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));

	edu->container = open("/dev/vfio/vfio", O_RDWR);
	if (edu->container < 0)
		return errno;
	edu->group = open(path, O_RDWR);
	if (edu->group < 0)
		return errno;
	if (ioctl(edu->group, VFIO_GROUP_GET_STATUS, &status))
		return errno;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return EBUSY;
	if (ioctl(edu->group, VFIO_GROUP_SET_CONTAINER, &edu->container))
		return errno;
	if (ioctl(edu->container, VFIO_SET_IOMMU, iommu_type))
		return errno;
	edu->device = ioctl(edu->group, VFIO_GROUP_GET_DEVICE_FD, edu->bdf);
	if (edu->device < 0)
		return errno;
	if (ioctl(edu->device, VFIO_DEVICE_GET_REGION_INFO, &bar) ||
	    ioctl(edu->device, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		return errno;
	edu->bar0_size = bar.size;
	edu->bar0 = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 edu->device, bar.offset);
	if (edu->bar0 == MAP_FAILED)
		return errno;
	/* Bus master enable */
	if (pread(edu->device, &command, 2, cfg.offset + 4) != 2)
		return EIO;
	command |= 0x4;
	if (pwrite(edu->device, &command, 2, cfg.offset + 4) != 2)
		return EIO;
	return 0;
}

static inline void edu_close(struct edu *edu)
{
	if (edu->bar0 && edu->bar0 != MAP_FAILED)
		munmap((void *)edu->bar0, edu->bar0_size);
	if (edu->device > 0)
		close(edu->device);
	if (edu->group > 0)
		close(edu->group);
	if (edu->container > 0)
		close(edu->container);
}

static inline void edu_write64(struct edu *edu, unsigned int reg,
			       __u64 val)
{
	*(volatile __u64 *)(edu->bar0 + reg) = val;
}

static inline __u64 edu_read64(struct edu *edu, unsigned int reg)
{
	return *(volatile __u64 *)(edu->bar0 + reg);
}

/* One DMA transfer; 0 when the device reports it done within 5 s */
static inline int edu_dma(struct edu *edu, __u64 src, __u64 dst,
			  __u64 count, bool to_ram)
{
	struct timespec start, now;

	edu_write64(edu, EDU_DMA_SRC, src);
	edu_write64(edu, EDU_DMA_DST, dst);
	edu_write64(edu, EDU_DMA_COUNT, count);
	edu_write64(edu, EDU_DMA_CMD,
		    EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (edu_read64(edu, EDU_DMA_CMD) & EDU_CMD_START) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 5)
			return ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

static inline int edu_map(struct edu *edu, void *buf, __u64 iova,
			  __u64 size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = size,
	};

	return ioctl(edu->container, VFIO_IOMMU_MAP_DMA, &map) ? errno : 0;
}

static inline int edu_unmap(struct edu *edu, __u64 iova, __u64 size,
			    __u32 flags, __u64 *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};

	if (ioctl(edu->container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return errno;
	if (unmapped)
		*unmapped = unmap.size;
	return 0;
}

/* The module serving the containers: this one when loaded */
static inline const char *backend(void)
{
	return access("/sys/module/iommufd", F_OK) ? "vfio_iommu_type1" :
						     "iommufd";
}

/* A number in a file of /sys/module/<backend>/; -1 if unreadable */
static inline long module_read(const char *file)
{
	char path[PATH_MAX];
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/%s", backend(), file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

static inline int module_write(const char *file, long val)
{
	char path[PATH_MAX];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "/sys/module/%s/%s", backend(), file);
	f = fopen(path, "w");
	if (!f)
		return errno;
	rc = fprintf(f, "%ld\n", val) < 0;
	return fclose(f) || rc ? EIO : 0;
}

#endif
