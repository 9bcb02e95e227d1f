# SPDX-License-Identifier: GPL-2.0
#
# Map and unmap throughput against the mapping size, both backends.
# usage: gnuplot -e "dat='SWEEP.DAT'; out='PNG'; floor_map=X; floor_unmap=Y" plot.gp
# SWEEP.DAT (bench/summary.awk): size in KiB, then for map and for unmap:
# type1 median, min, max, iommufd median, min, max.
# floor_map, floor_unmap: the floor of 1 GiB (bench_floor.ko), GiB/s.

set terminal pngcairo size 1200,500 font "sans,11"
set output out
set multiplot layout 1,2 title "VFIO type1 container, 4 KiB pages (physically discontiguous), intel-iommu, QEMU TCG: median and min-max of the rounds"
set logscale x 4
set logscale y 10
set xrange [3:1400000]
set xtics ("4K" 4, "16K" 16, "64K" 64, "256K" 256, "1M" 1024, "4M" 4096, \
	   "16M" 16384, "64M" 65536, "256M" 262144, "1G" 1048576)
set xlabel "size of each mapping (at least 16 MiB mapped per size)"
set ylabel "GiB/s"
set grid
set key bottom right

set title "MAP\\_DMA"
plot dat using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb "#d95f02" title "vfio\\_iommu\\_type1", \
     dat using 1:5:6:7 with yerrorlines lw 2 pt 5 lc rgb "#1b9e77" title "iommufd.ko", \
     floor_map with lines dt 2 lw 1 lc rgb "#555555" title "floor, 1 GiB (pin + IOMMU PTEs only)"

set title "UNMAP\\_DMA"
plot dat using 1:8:9:10 with yerrorlines lw 2 pt 7 lc rgb "#d95f02" title "vfio\\_iommu\\_type1", \
     dat using 1:11:12:13 with yerrorlines lw 2 pt 5 lc rgb "#1b9e77" title "iommufd.ko", \
     floor_unmap with lines dt 2 lw 1 lc rgb "#555555" title "floor, 1 GiB (IOMMU PTEs + unpin only)"
unset multiplot
