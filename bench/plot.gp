# Plots for docs/benchmarks.md from bench/sweep.sh's TSV files.
# usage: gnuplot -e "dir='bench/results'" bench/plot.gp
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 800,500 noenhanced font ",10"
set datafile commentschars "#"
set grid

set output dir."/latency.png"
set logscale x
set title "Throughput vs latency (closed loop, loopback): 32 handles x window wN; 4 sessions x rN records x 4"
set xlabel "committed updates/s"
set ylabel "latency (us)"
set logscale y
set key top left
plot dir."/latency-narrator.tsv" using 3:4 with linespoints lc rgb "#8b00b0" pt 7 title "Narrator n=3, p50", \
     dir."/latency-narrator.tsv" using 3:5 with linespoints lc rgb "#d08fe0" pt 6 title "Narrator n=3, p99", \
     dir."/latency-null.tsv" using 3:4 with linespoints lc rgb "#0060c0" pt 5 title "null server (limit), p50", \
     dir."/latency-null.tsv" using 3:5 with linespoints lc rgb "#80b0e0" pt 4 title "null server (limit), p99", \
     dir."/latency-sessions.tsv" using 3:4 with linespoints lc rgb "#c05000" pt 9 title "Narrator n=3 sessions, p50", \
     dir."/latency-sessions.tsv" using 3:5 with linespoints lc rgb "#e0a080" pt 8 title "Narrator n=3 sessions, p99", \
     dir."/latency-sessions.tsv" using 3:4:(sprintf("r%d", $1)) with labels offset 0,0.8 tc rgb "#c05000" notitle, \
     dir."/latency-narrator.tsv" using 3:4:(sprintf("w%d", $1)) with labels offset 0,0.8 tc rgb "#8b00b0" notitle, \
     dir."/latency-null.tsv" using 3:4:(sprintf("w%d", $1)) with labels offset 0,0.8 tc rgb "#0060c0" notitle

unset logscale y
unset logscale x
set output dir."/scaling.png"
set title "Committed updates/s by network size (same load)"
set xlabel "members n"
set ylabel "committed updates/s"
set xtics 2
set xrange [2:8]
set yrange [0:*]
unset key
set boxwidth 0.8
set style fill solid 0.5
plot dir."/scaling.tsv" using 1:3 with boxes title "updates/s", \
     dir."/scaling.tsv" using 1:3:(sprintf("p50 %.0f us", $4)) with labels offset 0,1 notitle

if (system("test -s ".dir."/openloop.tsv && echo y") eq "y\n" || system("test -s ".dir."/openloop.tsv && echo y") eq "y") {
  set output dir."/openloop.png"
  set title "Open loop: latency from the intended send time at a fixed offered rate (n=3)"
  set xlabel "offered updates/s"
  set ylabel "latency (us)"
  set logscale y
  set yrange [*:*]
  set autoscale x
  set xrange [*:*]
  set xtics autofreq
  set key top left
  plot dir."/openloop.tsv" using 1:4 with linespoints lc rgb "#8b00b0" pt 7 title "p50", \
       dir."/openloop.tsv" using 1:5 with linespoints lc rgb "#d08fe0" pt 6 title "p99"
}
