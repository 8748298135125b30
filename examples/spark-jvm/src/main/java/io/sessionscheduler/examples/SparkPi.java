// A batch job for the session scheduler: estimates pi with one task per
// slice, each task optionally taking a while so sharing and preemption show.
// Usage: SparkPi [slices] [taskMillis] [startFile]; with startFile the driver
// registers at once but starts its job only once that file exists, so a demo
// can line up tenants' arrivals without waiting for JVMs to start.
package io.sessionscheduler.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

public final class SparkPi {
  private SparkPi() {}

  public static void main(String[] args) throws Exception {
    int slices = args.length > 0 ? Integer.parseInt(args[0]) : 8;
    long taskMillis = args.length > 1 ? Long.parseLong(args[1]) : 0L;
    Path startFile = args.length > 2 ? Path.of(args[2]) : null;
    int samplesPerSlice = 100_000;
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("SparkPi"))) {
      if (startFile != null) {
        System.out.println("waiting for " + startFile);
        while (!Files.exists(startFile)) Thread.sleep(100);
      }
      List<Integer> seeds = new ArrayList<>();
      for (int i = 0; i < slices; i++) seeds.add(i);
      long inside = sc.parallelize(seeds, slices).map(seed -> {
        SplittableRandom random = new SplittableRandom(seed);
        long hits = 0;
        for (int i = 0; i < samplesPerSlice; i++) {
          double x = random.nextDouble() * 2 - 1;
          double y = random.nextDouble() * 2 - 1;
          if (x * x + y * y <= 1) hits++;
        }
        if (taskMillis > 0) Thread.sleep(taskMillis);
        return hits;
      }).reduce(Long::sum);
      long total = (long) slices * samplesPerSlice;
      System.out.printf("samples=%d inside=%d%n", total, inside);
      System.out.printf("Pi is roughly %.4f%n", 4.0 * inside / total);
    }
  }
}
