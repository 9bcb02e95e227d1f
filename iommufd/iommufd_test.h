/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ABI of IOMMU_TEST_CMD, the test build's extra ioctl on /dev/iommu.
 *
 * The kernel's own iommufd kselftests drive the engine through it: a mock
 * IOMMU whose domains they can inspect, mock devices, in-kernel accesses.
 * They are built against the kernel's own header for it; this one
 * describes the same ABI (op numbers, struct layout, constant values) for
 * the module, which alone uses it.  A few names come from kernels newer
 * than 6.12, marked below; their values are upstream's.
 */
#ifndef IOMMUFD_TEST_H
#define IOMMUFD_TEST_H

#include <linux/bits.h>
#include <linux/types.h>
#include <uapi/linux/iommufd.h>

/* The operations of IOMMU_TEST_CMD, in struct iommu_test_cmd::op */
enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN = 2,
	IOMMU_TEST_OP_MD_CHECK_MAP = 3,
	IOMMU_TEST_OP_MD_CHECK_REFS = 4,
	IOMMU_TEST_OP_CREATE_ACCESS = 5,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = 6,
	IOMMU_TEST_OP_ACCESS_PAGES = 7,
	IOMMU_TEST_OP_ACCESS_RW = 8,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = 11,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12,
	IOMMU_TEST_OP_DIRTY = 13,
	IOMMU_TEST_OP_MD_CHECK_IOTLB = 14,
	IOMMU_TEST_OP_TRIGGER_IOPF = 15,
};

/* The IOVA range a mock domain translates */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

/* access_pages.flags */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	/* iova is a struct { u32 nth_area; u32 offset; } (syzkaller) */
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
};

/* access_rw.flags */
enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

/* create_access.flags */
enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/* mock_domain_flags.dev_flags */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
	/* Newer than 6.12: a device that supports PASIDs */
	MOCK_FLAGS_DEVICE_PASID = 1 << 2,
};

/* Newer than 6.12: the PASID width of a MOCK_FLAGS_DEVICE_PASID device */
#define MOCK_PASID_WIDTH 20

/* The mock IOTLB of a nested mock domain */
enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

/**
 * struct iommu_test_cmd - IOMMU_TEST_CMD
 * @size: sizeof(struct iommu_test_cmd)
 * @op: IOMMU_TEST_OP_*
 * @id: the object the operation works on (an IOAS, a HWPT, a selftest
 *	device, an access file descriptor...), per operation
 * @__reserved: must be 0
 * @add_reserved: IOMMU_TEST_OP_ADD_RESERVED
 * @mock_domain: IOMMU_TEST_OP_MOCK_DOMAIN; out_idev_id is an ordinary
 *	device object
 * @mock_domain_flags: IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, @mock_domain with
 *	MOCK_FLAGS_DEVICE_* flags
 * @mock_domain_replace: IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE
 * @check_map: IOMMU_TEST_OP_MD_CHECK_MAP
 * @check_refs: IOMMU_TEST_OP_MD_CHECK_REFS
 * @create_access: IOMMU_TEST_OP_CREATE_ACCESS
 * @destroy_access_pages: IOMMU_TEST_OP_DESTROY_ACCESS_PAGES
 * @access_pages: IOMMU_TEST_OP_ACCESS_PAGES
 * @access_rw: IOMMU_TEST_OP_ACCESS_RW
 * @memory_limit: IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT
 * @access_replace_ioas: IOMMU_TEST_OP_ACCESS_REPLACE_IOAS
 * @dirty: IOMMU_TEST_OP_DIRTY
 * @check_iotlb: IOMMU_TEST_OP_MD_CHECK_IOTLB
 * @trigger_iopf: IOMMU_TEST_OP_TRIGGER_IOPF
 * @last: the end of the first version of the struct
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
	};
	__u32 last;
};

#define IOMMUFD_CMD_TEST (IOMMUFD_CMD_BASE + 32)
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_TEST)

/* IOMMU_GET_HW_INFO of a mock device: type and data */
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef

/**
 * struct iommu_test_hw_info - IOMMU_GET_HW_INFO data of a mock device
 * @flags: 0
 * @test_reg: IOMMU_HW_INFO_SELFTEST_REGVAL
 */
struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

/* IOMMU_HWPT_ALLOC data type of a nested mock domain (no real type) */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef

/**
 * struct iommu_hwpt_selftest - IOMMU_HWPT_DATA_SELFTEST data
 * @iotlb: the initial value of every mock IOTLB entry,
 *	IOMMU_TEST_IOTLB_DEFAULT
 */
struct iommu_hwpt_selftest {
	__u32 iotlb;
};

/* IOMMU_HWPT_INVALIDATE data types of a nested mock domain */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

/* iommu_hwpt_invalidate_selftest::flags: every entry, not iotlb_id */
#define IOMMU_TEST_INVALIDATE_FLAG_ALL BIT(0)

/**
 * struct iommu_hwpt_invalidate_selftest - IOMMU_HWPT_INVALIDATE_DATA_SELFTEST
 *	data
 * @flags: IOMMU_TEST_INVALIDATE_FLAG_*
 * @iotlb_id: the mock IOTLB entry to invalidate
 */
struct iommu_hwpt_invalidate_selftest {
	__u32 flags;
	__u32 iotlb_id;
};

#endif
