/* The ZEM/ZEV flight software of tests/gnc/zem_zev.py, in C, as an FMI 2.0 co-simulation FMU
   (built by tests/gnc/fmu_build.py with modelDescription.xml beside it): dead reckoning from
   the handed-over state on the IMU's increments since the last step, a complementary filter
   on the rangefinder's altitude, ZEM/ZEV guidance to a point above the site, then a vertical
   descent; an attitude command and a throttle along the estimated thrust axis. One step is
   one control cycle. Variables and their value references: the V_ enumeration. */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"

enum {
    /* parameters: the handover and the law's settings */
    V_R0 = 0, V_V0 = 3, V_Q0 = 6, V_MASS0 = 10, V_SITE = 11, V_AXES = 14, V_OMEGA = 23,
    V_GM = 24, V_TIME_TO_GO = 25, V_HEIGHT = 26, V_RATE = 27, V_TERMINAL = 28,
    V_ALTITUDE_GAIN = 29, V_CLIMB_GAIN = 30, V_BEAM = 31, V_MAX_THRUST = 34, V_ISP = 35,
    V_THROTTLE_MIN = 36, V_THROTTLE_MAX = 37,
    /* inputs */
    V_TIME = 38, V_DV = 39, V_DTHETA = 42, V_INTERVAL = 45, V_RANGE = 46,
    /* the tests' faults: an error status from this time, or on a restart (when nonzero) */
    V_FAIL_AT = 47, V_FAIL_ON_RESTART = 48,
    /* outputs */
    V_THROTTLE = 49, V_QC = 50, V_R = 54, V_V = 57, V_Q = 60, V_ALTITUDE = 64,
    N_REALS = 65
};
enum { B_RANGE_VALID = 0, B_PROBE = 1, B_RESTART = 2, B_ENGINE_ON = 3, N_BOOLEANS = 4 };
enum { I_PHASE = 0, I_RESTARTS = 1, N_INTEGERS = 2 };
enum { APPROACH = 1, TERMINAL = 2, ENGINE_OFF = 3 };

#define G0 9.80665
#define TERMINAL_TIME_CONSTANT 2.0
#define MAX_TILT (20.0 * M_PI / 180.0)

typedef struct {
    double real[N_REALS];
    fmi2Boolean boolean[N_BOOLEANS];
    fmi2Integer integer[N_INTEGERS];
    double r[3], v[3], q[4], mass, throttle;
    fmi2CallbackFunctions callbacks;
    fmi2String name;
} Lander;

static double dot(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
static double norm(const double *a) { return sqrt(dot(a, a)); }

static void cross(const double *a, const double *b, double *out) {
    double c[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
    memcpy(out, c, sizeof c);
}

static void product(const double *a, const double *b, double *out) {
    double c[4] = {a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
                   a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
                   a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
                   a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0]};
    memcpy(out, c, sizeof c);
}

static void from_rotation_vector(const double *v, double scale, double *q) {
    double w[3] = {v[0] * scale, v[1] * scale, v[2] * scale}, angle = norm(w);
    double s = angle < 1e-12 ? 0.5 : sin(angle / 2) / angle;
    q[0] = cos(angle / 2);
    q[1] = s * w[0]; q[2] = s * w[1]; q[3] = s * w[2];
}

static void rotate(const double *q, const double *v, double *out) {
    double t[3], u[3];
    cross(q + 1, v, t);
    t[0] *= 2; t[1] *= 2; t[2] *= 2;
    cross(q + 1, t, u);
    for (int i = 0; i < 3; i++) out[i] = v[i] + q[0] * t[i] + u[i];
}

/* q (body to frame) with body +z along z, +y toward y_ref (Shepperd's method) */
static void pointing(const double *z_in, const double *y_ref, double *q) {
    double z[3], y[3], x[3], n = norm(z_in), m[3][3];
    for (int i = 0; i < 3; i++) z[i] = z_in[i] / n;
    double d = dot(y_ref, z);
    for (int i = 0; i < 3; i++) y[i] = y_ref[i] - d * z[i];
    n = norm(y);
    for (int i = 0; i < 3; i++) y[i] /= n;
    cross(y, z, x);
    for (int i = 0; i < 3; i++) { m[i][0] = x[i]; m[i][1] = y[i]; m[i][2] = z[i]; }
    double trace = m[0][0] + m[1][1] + m[2][2];
    if (trace > -0.96) {
        double w = sqrt(1.0 + trace) / 2;
        q[0] = w;
        q[1] = (m[2][1] - m[1][2]) / (4 * w);
        q[2] = (m[0][2] - m[2][0]) / (4 * w);
        q[3] = (m[1][0] - m[0][1]) / (4 * w);
        return;
    }
    int i = m[0][0] > m[1][1] ? (m[0][0] > m[2][2] ? 0 : 2) : (m[1][1] > m[2][2] ? 1 : 2);
    int j = (i + 1) % 3, k = (i + 2) % 3;
    double s = sqrt(1.0 + m[i][i] - m[j][j] - m[k][k]) * 2;
    q[0] = (m[k][j] - m[j][k]) / s;
    q[1 + i] = s / 4;
    q[1 + j] = (m[j][i] + m[i][j]) / s;
    q[1 + k] = (m[k][i] + m[i][k]) / s;
    if (q[0] < 0) for (int c = 0; c < 4; c++) q[c] = -q[c];
}

static double height(const Lander *l) { return norm(l->r) - norm(l->real + V_SITE); }

static void navigate(Lander *l) {
    const double *p = l->real;
    double dt = p[V_INTERVAL];
    if (dt > 0) {
        double half[4], whole[4], q_mid[4], q1[4], dv[3], g[3], v1[3];
        from_rotation_vector(p + V_DTHETA, 0.5, half);
        from_rotation_vector(p + V_DTHETA, 1.0, whole);
        product(l->q, half, q_mid);
        product(l->q, whole, q1);
        double n = sqrt(q1[0] * q1[0] + q1[1] * q1[1] + q1[2] * q1[2] + q1[3] * q1[3]);
        rotate(q_mid, p + V_DV, dv);
        double rn = norm(l->r), k = -p[V_GM] / (rn * rn * rn);
        for (int i = 0; i < 3; i++) {
            g[i] = k * l->r[i];
            v1[i] = l->v[i] + dv[i] + g[i] * dt;
            l->r[i] += 0.5 * (l->v[i] + v1[i]) * dt;
            l->v[i] = v1[i];
        }
        for (int i = 0; i < 4; i++) l->q[i] = q1[i] / n;
        l->mass -= l->throttle * p[V_MAX_THRUST] / (p[V_ISP] * G0) * dt;
    }
    if (l->boolean[B_RANGE_VALID]) {
        double up[3], beam[3], rn = norm(l->r);
        for (int i = 0; i < 3; i++) up[i] = l->r[i] / rn;
        rotate(l->q, p + V_BEAM, beam);
        double error = p[V_RANGE] * -dot(beam, up) - height(l);
        for (int i = 0; i < 3; i++) {
            l->r[i] += p[V_ALTITUDE_GAIN] * error * up[i];
            l->v[i] += p[V_CLIMB_GAIN] * error * up[i];
        }
    }
}

static void step(Lander *l) {
    double *p = l->real;
    navigate(l);
    double t = p[V_TIME], w = p[V_OMEGA], c = cos(w * t), s = sin(w * t);
    double r[3] = {c * l->r[0] + s * l->r[1], -s * l->r[0] + c * l->r[1], l->r[2]};
    double vm[3] = {c * l->v[0] + s * l->v[1], -s * l->v[0] + c * l->v[1], l->v[2]};
    double spin[3], omega[3] = {0, 0, w}, rel[3], off[3], pos[3], vel[3], a[3];
    cross(omega, r, spin);
    for (int i = 0; i < 3; i++) { rel[i] = vm[i] - spin[i]; off[i] = r[i] - p[V_SITE + i]; }
    for (int i = 0; i < 3; i++) { pos[i] = dot(p + V_AXES + 3 * i, off); vel[i] = dot(p + V_AXES + 3 * i, rel); }
    double g = -p[V_GM] / dot(l->r, l->r), t_go = p[V_TIME_TO_GO] - t;
    fmi2Integer *phase = &l->integer[I_PHASE];
    if (*phase == APPROACH && t_go <= p[V_TERMINAL]) *phase = TERMINAL;
    if (l->boolean[B_PROBE]) *phase = ENGINE_OFF;
    if (*phase == APPROACH) {
        double target[3] = {0, 0, p[V_HEIGHT]}, target_v[3] = {0, 0, -p[V_RATE]};
        double gv[3] = {0, 0, g};
        for (int i = 0; i < 3; i++) {
            double zem = target[i] - (pos[i] + vel[i] * t_go + 0.5 * gv[i] * t_go * t_go);
            double zev = target_v[i] - (vel[i] + gv[i] * t_go);
            a[i] = 6 * zem / (t_go * t_go) - 2 * zev / t_go;
        }
    } else {
        double k = 1.0 / TERMINAL_TIME_CONSTANT;
        a[0] = -k * vel[0]; a[1] = -k * vel[1]; a[2] = k * (-p[V_RATE] - vel[2]) - g;
        double horizontal = hypot(a[0], a[1]), limit = fmax(a[2], 0.0) * tan(MAX_TILT);
        if (horizontal > limit) { a[0] *= limit / horizontal; a[1] *= limit / horizontal; }
    }
    double d[3], left[3], d_mci[3], left_mci[3], axis[3], zb[3] = {0, 0, 1};
    for (int i = 0; i < 3; i++) {
        d[i] = p[V_AXES + i] * a[0] + p[V_AXES + 3 + i] * a[1] + p[V_AXES + 6 + i] * a[2];
        left[i] = p[V_AXES + 3 + i];
    }
    d_mci[0] = c * d[0] - s * d[1]; d_mci[1] = s * d[0] + c * d[1]; d_mci[2] = d[2];
    left_mci[0] = c * left[0] - s * left[1]; left_mci[1] = s * left[0] + c * left[1];
    left_mci[2] = left[2];
    rotate(l->q, zb, axis);
    double throttle = fmin(fmax(dot(d_mci, axis) * l->mass / p[V_MAX_THRUST], p[V_THROTTLE_MIN]), 1.0);
    throttle = fmin(throttle, p[V_THROTTLE_MAX]);
    int on = *phase != ENGINE_OFF;
    l->throttle = on ? throttle : 0.0;
    p[V_THROTTLE] = l->throttle;
    l->boolean[B_ENGINE_ON] = on;
    pointing(d_mci, left_mci, p + V_QC);
    memcpy(p + V_R, l->r, sizeof l->r);
    memcpy(p + V_V, l->v, sizeof l->v);
    memcpy(p + V_Q, l->q, sizeof l->q);
    p[V_ALTITUDE] = height(l);
}

static void log_error(Lander *l, const char *message) {
    if (l->callbacks.logger)
        l->callbacks.logger(l->callbacks.componentEnvironment, l->name, fmi2Error, "error", message);
}

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }

fmi2Component fmi2Instantiate(fmi2String name, fmi2Type type, fmi2String guid, fmi2String resources,
                              const fmi2CallbackFunctions *callbacks, fmi2Boolean visible,
                              fmi2Boolean logging) {
    if (type != fmi2CoSimulation || strcmp(guid, "{5f1d3e0a-zem-zev-0001}") != 0) return NULL;
    Lander *l = calloc(1, sizeof(Lander));
    l->callbacks = *callbacks;
    l->name = name;
    l->real[V_FAIL_AT] = INFINITY;
    l->real[V_TIME_TO_GO] = 70; l->real[V_HEIGHT] = 30; l->real[V_RATE] = 1;
    l->real[V_TERMINAL] = 5; l->real[V_ALTITUDE_GAIN] = 0.1; l->real[V_CLIMB_GAIN] = 0.005;
    return l;
}

void fmi2FreeInstance(fmi2Component c) { free(c); }

fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean tolerance_defined, fmi2Real tolerance,
                               fmi2Real start, fmi2Boolean stop_defined, fmi2Real stop) {
    return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component c) { return fmi2OK; }

fmi2Status fmi2ExitInitializationMode(fmi2Component c) {
    Lander *l = c;
    memcpy(l->r, l->real + V_R0, sizeof l->r);
    memcpy(l->v, l->real + V_V0, sizeof l->v);
    memcpy(l->q, l->real + V_Q0, sizeof l->q);
    l->mass = l->real[V_MASS0];
    l->integer[I_PHASE] = APPROACH;
    return fmi2OK;
}

fmi2Status fmi2Terminate(fmi2Component c) { return fmi2OK; }

#define SET(NAME, TYPE, ARRAY, COUNT)                                                          \
    fmi2Status NAME(fmi2Component c, const fmi2ValueReference vr[], size_t n, const TYPE v[]) { \
        Lander *l = c;                                                                        \
        for (size_t i = 0; i < n; i++) {                                                      \
            if (vr[i] >= COUNT) return fmi2Error;                                             \
            l->ARRAY[vr[i]] = v[i];                                                           \
        }                                                                                     \
        return fmi2OK;                                                                        \
    }
#define GET(NAME, TYPE, ARRAY, COUNT)                                                          \
    fmi2Status NAME(fmi2Component c, const fmi2ValueReference vr[], size_t n, TYPE v[]) {     \
        Lander *l = c;                                                                        \
        for (size_t i = 0; i < n; i++) {                                                      \
            if (vr[i] >= COUNT) return fmi2Error;                                             \
            v[i] = l->ARRAY[vr[i]];                                                           \
        }                                                                                     \
        return fmi2OK;                                                                        \
    }

SET(fmi2SetReal, fmi2Real, real, N_REALS)
SET(fmi2SetInteger, fmi2Integer, integer, N_INTEGERS)
SET(fmi2SetBoolean, fmi2Boolean, boolean, N_BOOLEANS)
GET(fmi2GetReal, fmi2Real, real, N_REALS)
GET(fmi2GetInteger, fmi2Integer, integer, N_INTEGERS)
GET(fmi2GetBoolean, fmi2Boolean, boolean, N_BOOLEANS)

fmi2Status fmi2DoStep(fmi2Component c, fmi2Real t, fmi2Real h, fmi2Boolean no_prior) {
    Lander *l = c;
    if (l->boolean[B_RESTART]) { /* its memory survives a reset */
        l->integer[I_RESTARTS] += 1;
        if (l->real[V_FAIL_ON_RESTART] != 0) {
            log_error(l, "the test's fault: restarted");
            return fmi2Error;
        }
    }
    if (l->real[V_TIME] >= l->real[V_FAIL_AT]) {
        log_error(l, "the test's fault: fail_at reached");
        return fmi2Error;
    }
    step(l);
    return fmi2OK;
}
