// A C entry point to the Synthesis ToolKit's instruments, for data::stk. One call renders one
// note: built, played through per-block pitch and breath/bow curves, let go, and torn down.
// Every STK exception is caught here, since none may cross into Rust.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <stk/BeeThree.h>
#include <stk/Bowed.h>
#include <stk/Brass.h>
#include <stk/Clarinet.h>
#include <stk/ModalBar.h>
#include <stk/Plucked.h>
#include <stk/Rhodey.h>
#include <stk/Saxofony.h>
#include <stk/StifKarp.h>
#include <stk/Stk.h>
#include <stk/Wurley.h>

namespace {

// The order of data::stk::Model.
enum Kind { CLARINET, SAXOFONY, BRASS, BOWED, PLUCKED, STIFKARP, MODALBAR, RHODEY, WURLEY, BEETHREE, KINDS };

std::unique_ptr<stk::Instrmnt> make(int kind) {
  switch (kind) {
    case CLARINET: return std::make_unique<stk::Clarinet>(20.0);
    case SAXOFONY: return std::make_unique<stk::Saxofony>(20.0);
    case BRASS: return std::make_unique<stk::Brass>(20.0);
    case BOWED: return std::make_unique<stk::Bowed>(20.0);
    case PLUCKED: return std::make_unique<stk::Plucked>(20.0);
    case STIFKARP: return std::make_unique<stk::StifKarp>(20.0);
    case MODALBAR: return std::make_unique<stk::ModalBar>();
    case RHODEY: return std::make_unique<stk::Rhodey>();
    case WURLEY: return std::make_unique<stk::Wurley>();
    case BEETHREE: return std::make_unique<stk::BeeThree>();
    default: return nullptr;
  }
}

void fail(char* err, size_t err_len, const std::string& message) {
  if (err != nullptr && err_len > 0) std::snprintf(err, err_len, "%s", message.c_str());
}

// Breath or bow for one block: the player's pressure follows the gain curve, from 70% of full
// at the softest (below that a reed or lips stop speaking) to full; the level follows it too.
void drive(stk::Instrmnt* inst, int kind, double amplitude, double gain) {
  double g = 0.7 + 0.3 * gain;
  switch (kind) {
    case CLARINET:
      static_cast<stk::Clarinet*>(inst)->startBlowing((0.55 + 0.30 * amplitude) * g, amplitude * 0.005);
      break;
    case SAXOFONY:
      static_cast<stk::Saxofony*>(inst)->startBlowing((0.55 + 0.30 * amplitude) * g, amplitude * 0.005);
      break;
    case BRASS:
    case BOWED: inst->controlChange(128, 128.0 * g); break;
    default: break;
  }
}

}  // namespace

extern "C" {

// One note at `rate` Hz. cents and gain hold `blocks` values, one per `block` samples (the last
// one holds past the end); note off at sample `hold`; `ccs` control changes sent before note on;
// `seed` seeds the C library's generator, which STK's Noise draws from. Returns 0, or 1 with a
// message in err.
int ts_stk_render(int kind, double rate, double frequency, double amplitude, const float* cents, const float* gain,
                  size_t blocks, size_t block, size_t hold, const int* cc_numbers, const double* cc_values,
                  size_t ccs, unsigned seed, float* out, size_t n, char* err, size_t err_len) {
  if (kind < 0 || kind >= KINDS || block == 0 || blocks == 0 || !(frequency > 0.0)) {
    fail(err, err_len, "invalid note");
    return 1;
  }
  try {
    // Instruments read the rate when built; the caller holds a lock, so none other exists now.
    stk::Stk::setSampleRate(rate);
    std::unique_ptr<stk::Instrmnt> inst = make(kind);
    std::srand(seed);
    for (size_t c = 0; c < ccs; c++) inst->controlChange(cc_numbers[c], cc_values[c]);
    // The pitch curve carries any vibrato; the models' own would come on top of it.
    if (kind == CLARINET || kind == SAXOFONY || kind == BRASS || kind == BOWED)
      inst->controlChange(1, 0.0);
    inst->noteOn(frequency * std::pow(2.0, cents[0] / 1200.0), amplitude);
    // Brass runs at a rate that follows the note; its attack and release rates are per sample,
    // so they are scaled to take the time they take at 44.1 kHz.
    double per_sample = 44100.0 / rate;
    if (kind == BRASS)
      static_cast<stk::Brass*>(inst.get())->startBlowing(amplitude, amplitude * 0.001 * per_sample);
    double level = 1.0;
    for (size_t i = 0; i < n; i++) {
      if (i % block == 0) {
        size_t b = i / block < blocks ? i / block : blocks - 1;
        // Not after note off: the plucked strings' setFrequency restores the loop gain that
        // note off lowered, and they would ring on.
        if (i > 0 && i < hold) inst->setFrequency(frequency * std::pow(2.0, cents[b] / 1200.0));
        if (i < hold) drive(inst.get(), kind, amplitude, gain[b]);
        level = gain[b];
      }
      // Bowed's release rate is (1 - amplitude) / 200 per sample: a full-velocity bow would
      // never lift; the others release faster the louder they were played, which holds.
      if (i == hold) {
        if (kind == BRASS)
          static_cast<stk::Brass*>(inst.get())->stopBlowing(amplitude * 0.005 * per_sample);
        else
          inst->noteOff(kind == BOWED ? 0.5 : amplitude);
      }
      out[i] = static_cast<float>(inst->tick() * level);
    }
    return 0;
  } catch (stk::StkError& e) {
    fail(err, err_len, e.getMessage());
  } catch (std::exception& e) {
    fail(err, err_len, e.what());
  } catch (...) {
    fail(err, err_len, "unknown STK error");
  }
  return 1;
}

// Where the wavetables of ModalBar and the FM instruments are read from. Warnings off: a control
// pinned to its range is expected here.
int ts_stk_init(const char* rawwaves, char* err, size_t err_len) {
  try {
    stk::Stk::showWarnings(false);
    std::string path(rawwaves);
    if (!path.empty() && path.back() != '/') path.push_back('/');
    stk::Stk::setRawwavePath(path);
    return 0;
  } catch (stk::StkError& e) {
    fail(err, err_len, e.getMessage());
  } catch (...) {
    fail(err, err_len, "unknown STK error");
  }
  return 1;
}
}
