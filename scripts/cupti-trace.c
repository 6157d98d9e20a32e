/*
 * cupti-trace: a CUDA injection library that records a process's GPU timeline with CUPTI's
 * activity API (every kernel, copy and memset on the GPU's clock, every CUDA runtime and driver
 * call on the host's, and every wait on a stream, an event or the device) and writes it as CSV
 * for scripts/cuda-trace-summary.mjs (docs/GPU.md "A CUDA timeline without Nsight Systems").
 *
 * Why by hand: Nsight Systems, which does this, is not on the lent GPU machines, Nsight Compute
 * replays kernels one at a time (no timeline), and onnxruntime-node has no CUDA profiling hook.
 * The CUDA driver loads the library named by CUDA_INJECTION64_PATH when the process initialises
 * CUDA and calls its InitializeInjection, so no program has to be changed or rebuilt.
 *
 * Build (scripts/gpu-trace.sh does this against the machine's own CUPTI headers): the record
 * structs are versioned (CUpti_ActivityKernel9, ...), so the newest the headers define is passed
 * in as KERNEL_RECORD, MEMCPY_RECORD, MEMSET_RECORD and SYNC_RECORD:
 *   cc -O2 -shared -fPIC -I$CUPTI/include -I$CUDA/include -DKERNEL_RECORD=CUpti_ActivityKernel9 ...
 *      scripts/cupti-trace.c -L$CUPTI/lib64 -lcupti -o libcupti-trace.so
 * Use: CUDA_INJECTION64_PATH=/abs/libcupti-trace.so SIDEWAYS_CUPTI_TRACE=/abs/trace-%p.csv program
 * ("%p" becomes the process id, so that several CUDA processes of one command each write their own).
 *
 * CSV columns: kind, start_ns, end_ns, where (stream id; thread id for API calls), correlation
 * id, bytes, name. Timestamps are CUPTI's; a "clock" row pairs one with CLOCK_MONOTONIC (the clock
 * of Node's process.hrtime) at start and at exit, so marks taken by the traced program line up.
 */
#include <cupti_activity.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if !defined(KERNEL_RECORD) || !defined(MEMCPY_RECORD) || !defined(MEMSET_RECORD) || !defined(SYNC_RECORD)
#error "define KERNEL_RECORD, MEMCPY_RECORD, MEMSET_RECORD and SYNC_RECORD as the newest record structs of this CUPTI (scripts/gpu-trace.sh)"
#endif

#define BUFFER_BYTES (8u << 20)

/*
 * CUPTI 12.x and later record a stream or device synchronisation only where it had work to wait
 * for unless asked for all of them; older CUPTI lacks the call (weak: null there).
 */
CUptiResult CUPTIAPI cuptiActivityEnableAllSyncRecords(uint8_t enable) __attribute__((weak));

static FILE *out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what, CUptiResult status) {
  const char *text = NULL;
  cuptiGetResultString(status, &text);
  fprintf(stderr, "cupti-trace: %s failed: %s\n", what, text ? text : "unknown error");
}

static unsigned long long monotonic_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

static void write_clock(const char *when) {
  uint64_t timestamp = 0;
  if (cuptiGetTimestamp(&timestamp) != CUPTI_SUCCESS) return;
  const unsigned long long cupti = timestamp, monotonic = monotonic_ns();
  pthread_mutex_lock(&out_lock);
  if (out) fprintf(out, "clock,%llu,%llu,0,0,0,%s\n", cupti, monotonic, when);
  pthread_mutex_unlock(&out_lock);
}

static const char *callback_name(CUpti_CallbackDomain domain, CUpti_CallbackId cbid) {
  const char *name = NULL;
  return cuptiGetCallbackName(domain, cbid, &name) == CUPTI_SUCCESS && name ? name : "unknown";
}

static const char *copy_kind(uint8_t kind) {
  switch (kind) {
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOD: return "HtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOH: return "DtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOD: return "DtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOH: return "HtoH";
    default: return "other";
  }
}

static const char *sync_kind(int type) {
  switch (type) {
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_EVENT_SYNCHRONIZE: return "event_synchronize";
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_WAIT_EVENT: return "stream_wait_event";
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE: return "stream_synchronize";
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE: return "context_synchronize";
    default: return "unknown";
  }
}

/* A kernel's name quoted for CSV: C++ names hold commas; a quote inside is doubled. */
static void write_name(const char *name) {
  fputc('"', out);
  for (const char *c = name ? name : ""; *c; c++) {
    if (*c == '"') fputc('"', out);
    fputc(*c, out);
  }
  fputs("\"\n", out);
}

static void CUPTIAPI buffer_requested(uint8_t **buffer, size_t *size, size_t *max_records) {
  *buffer = aligned_alloc(ACTIVITY_RECORD_ALIGNMENT, BUFFER_BYTES);
  *size = *buffer ? BUFFER_BYTES : 0;
  *max_records = 0;
}

static void CUPTIAPI buffer_completed(CUcontext context, uint32_t stream, uint8_t *buffer, size_t size, size_t valid) {
  (void)size;
  CUpti_Activity *record = NULL;
  pthread_mutex_lock(&out_lock);
  /* A buffer completed after finish() closed the file (a context torn down later at exit): dropped. */
  while (out && cuptiActivityGetNextRecord(buffer, valid, &record) == CUPTI_SUCCESS) {
    switch (record->kind) {
      case CUPTI_ACTIVITY_KIND_KERNEL:
      case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
        const KERNEL_RECORD *k = (const KERNEL_RECORD *)record;
        fprintf(out, "kernel,%llu,%llu,%u,%u,0,", (unsigned long long)k->start, (unsigned long long)k->end, k->streamId, k->correlationId);
        write_name(k->name);
        break;
      }
      case CUPTI_ACTIVITY_KIND_MEMCPY: {
        const MEMCPY_RECORD *m = (const MEMCPY_RECORD *)record;
        fprintf(out, "memcpy,%llu,%llu,%u,%u,%llu,%s\n", (unsigned long long)m->start, (unsigned long long)m->end, m->streamId, m->correlationId,
                (unsigned long long)m->bytes, copy_kind(m->copyKind));
        break;
      }
      case CUPTI_ACTIVITY_KIND_MEMSET: {
        const MEMSET_RECORD *m = (const MEMSET_RECORD *)record;
        fprintf(out, "memset,%llu,%llu,%u,%u,%llu,memset\n", (unsigned long long)m->start, (unsigned long long)m->end, m->streamId, m->correlationId,
                (unsigned long long)m->bytes);
        break;
      }
      case CUPTI_ACTIVITY_KIND_RUNTIME:
      case CUPTI_ACTIVITY_KIND_DRIVER: {
        const CUpti_ActivityAPI *a = (const CUpti_ActivityAPI *)record;
        int runtime = record->kind == CUPTI_ACTIVITY_KIND_RUNTIME;
        fprintf(out, "%s,%llu,%llu,%u,%u,0,%s\n", runtime ? "runtime" : "driver", (unsigned long long)a->start, (unsigned long long)a->end, a->threadId,
                a->correlationId, callback_name(runtime ? CUPTI_CB_DOMAIN_RUNTIME_API : CUPTI_CB_DOMAIN_DRIVER_API, a->cbid));
        break;
      }
      case CUPTI_ACTIVITY_KIND_SYNCHRONIZATION: {
        const SYNC_RECORD *s = (const SYNC_RECORD *)record;
        fprintf(out, "sync,%llu,%llu,%u,%u,0,%s\n", (unsigned long long)s->start, (unsigned long long)s->end, s->streamId, s->correlationId, sync_kind((int)s->type));
        break;
      }
      default:
        break;
    }
  }
  size_t dropped = 0;
  if (out && cuptiActivityGetNumDroppedRecords(context, stream, &dropped) == CUPTI_SUCCESS && dropped > 0) fprintf(out, "dropped,0,0,%u,0,%zu,records\n", stream, dropped);
  pthread_mutex_unlock(&out_lock);
  free(buffer);
}

static void finish(void) {
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  write_clock("exit");
  pthread_mutex_lock(&out_lock);
  fclose(out);
  out = NULL;
  pthread_mutex_unlock(&out_lock);
}

/* The trace file: SIDEWAYS_CUPTI_TRACE with "%p" replaced by the process id. */
static FILE *open_trace(void) {
  const char *pattern = getenv("SIDEWAYS_CUPTI_TRACE");
  char path[4096];
  size_t n = 0;
  for (const char *c = pattern && *pattern ? pattern : "cupti-trace-%p.csv"; *c && n < sizeof path - 24; c++) {
    if (c[0] == '%' && c[1] == 'p') {
      n += (size_t)snprintf(path + n, sizeof path - n, "%d", (int)getpid());
      c++;
    } else {
      path[n++] = *c;
    }
  }
  path[n] = '\0';
  FILE *f = fopen(path, "w");
  if (!f) perror(path);
  return f;
}

int InitializeInjection(void) {
  out = open_trace();
  if (!out) return 0;
  fputs("kind,start_ns,end_ns,where,correlation,bytes,name\n", out);
  write_clock("start");
  CUptiResult status = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
  if (status != CUPTI_SUCCESS) {
    fail("cuptiActivityRegisterCallbacks", status);
    return 0;
  }
  const CUpti_ActivityKind kinds[] = {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY, CUPTI_ACTIVITY_KIND_MEMSET,
                                      CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_DRIVER, CUPTI_ACTIVITY_KIND_SYNCHRONIZATION};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    status = cuptiActivityEnable(kinds[i]);
    if (status != CUPTI_SUCCESS) fail("cuptiActivityEnable", status);
  }
  if (cuptiActivityEnableAllSyncRecords) {
    status = cuptiActivityEnableAllSyncRecords(1);
    if (status != CUPTI_SUCCESS) fail("cuptiActivityEnableAllSyncRecords", status);
  }
  atexit(finish);
  return 1;
}
