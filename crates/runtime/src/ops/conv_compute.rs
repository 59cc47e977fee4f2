//! The loops of [`super::conv::Conv2d`]: a direct 2-D convolution over a channels-last input
//! whose windows all lie inside it (padding already materialised), with the output channels a
//! compile-time count.
//!
//! Each output pixel accumulates into a `[f32; CO]` (bias first), adding each input value of its
//! window times the contiguous `[f32; CO]` row of weights for that (kh, kw, ci) position, so the
//! channel loop becomes SIMD multiplies and adds. `T` neighbouring output pixels of a row are
//! computed together: their accumulators are independent, which hides the add latency and
//! loads each weight row once for `T` pixels.

use tract_hir::internal::*;

/// Sizes and element strides of one convolution call.
pub struct Layout {
    /// Images (1 without a batch axis).
    pub batch: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Input element strides of n (0 without a batch axis), h, w, c.
    pub input_strides: [usize; 4],
    /// Output height and width.
    pub output: [usize; 2],
    /// Output element strides of n, h, w, c.
    pub output_strides: [usize; 4],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Strides of the windows.
    pub stride: [usize; 2],
    /// Dilations of the kernel.
    pub dilation: [usize; 2],
    /// Zeros before the input on each axis (tract's computed padding).
    pub pad_before: [usize; 2],
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
}

/// The channels-last input the loops read: `batch × height × width × channels`, contiguous,
/// with every window inside it.
struct Source<'a> {
    x: &'a [f32],
    image: usize,
    row: usize,
}

/// Writes the convolution of `x` (laid out as `l` says) by the `[kh][kw][ci][co]` weights `w`,
/// plus `bias`, through `max(·, 0)` when `relu`, into `out` (laid out as `l` says). With
/// `simd`, the AVX2 + FMA build of the loops runs when the CPU has them; without, the
/// baseline build always runs (so tests cover both on an AVX2 machine).
pub fn convolve(
    l: &Layout,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    relu: bool,
    simd: bool,
    out: &mut [f32],
) -> TractResult<()> {
    let (ci, co) = (l.in_channels, l.out_channels);
    ensure!(w.len() == l.kernel[0] * l.kernel[1] * ci * co && bias.len() == co);
    if out.is_empty() || l.output.contains(&0) {
        return Ok(());
    }
    // Input extent the windows touch, in padded coordinates.
    let need =
        [0, 1].map(|a| (l.output[a] - 1) * l.stride[a] + (l.kernel[a] - 1) * l.dilation[a] + 1);
    let [sn, sh, sw, sc] = l.input_strides;
    // With one channel, channels-first is channels-last too (the channel stride is unused).
    let dense_channels_last = (sc == 1 || ci == 1)
        && sw == ci
        && sh == l.input[1] * ci
        && (l.batch == 1 || sn == l.input[0] * sh);
    let unpadded = l.pad_before == [0, 0] && need[0] <= l.input[0] && need[1] <= l.input[1];
    let copy;
    let source = if dense_channels_last && unpadded {
        Source {
            x,
            image: l.input[0] * l.input[1] * ci,
            row: l.input[1] * ci,
        }
    } else {
        copy = padded_channels_last(l, x, need);
        Source {
            x: &copy,
            image: need[0] * need[1] * ci,
            row: need[1] * ci,
        }
    };
    let fma = simd && has_avx2_fma();
    // Output channels → pixels per tile without and with AVX2 (16 vector registers either
    // way: the accumulators of a tile must fit in about half of them).
    macro_rules! dispatch {
        ($($co:literal => ($t:literal, $t_avx:literal)),*) => {
            match co {
                $($co => rows_fastest::<$co, $t, $t_avx>(fma, l, &source, w, bias, relu, out),)*
                _ => bail!("Conv2d does not take {co} output channels"),
            }
        };
    }
    dispatch!(1 => (8, 8), 2 => (8, 8), 3 => (8, 8), 4 => (8, 8), 5 => (4, 8), 6 => (4, 8),
        7 => (4, 8), 8 => (4, 8), 16 => (2, 4));
    Ok(())
}

/// A zero-padded, dense channels-last copy of the input covering `need` rows and columns.
fn padded_channels_last(l: &Layout, x: &[f32], need: [usize; 2]) -> Vec<f32> {
    let [sn, sh, sw, sc] = l.input_strides;
    let ci = l.in_channels;
    let mut copy = vec![0f32; l.batch * need[0] * need[1] * ci];
    for n in 0..l.batch {
        for h in 0..l.input[0] {
            let ph = h + l.pad_before[0];
            if ph >= need[0] {
                break;
            }
            for w in 0..l.input[1] {
                let pw = w + l.pad_before[1];
                if pw >= need[1] {
                    break;
                }
                let dst = ((n * need[0] + ph) * need[1] + pw) * ci;
                let src = n * sn + h * sh + w * sw;
                for (c, d) in copy[dst..dst + ci].iter_mut().enumerate() {
                    *d = x[src + c * sc];
                }
            }
        }
    }
    copy
}

/// Whether this CPU has AVX2 and FMA (the standard library caches the answer).
fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`rows`] compiled for AVX2 and FMA when the CPU has them (`fma`), else for the baseline
/// target (SSE2 on x86_64), whose 4-wide multiplies and adds take about three times as many
/// instructions per multiply-add for 8 channels.
#[allow(clippy::too_many_arguments)]
fn rows_fastest<const CO: usize, const T: usize, const T_AVX: usize>(
    fma: bool,
    l: &Layout,
    src: &Source<'_>,
    w: &[f32],
    bias: &[f32],
    relu: bool,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `rows_avx2` only needs the CPU to have AVX2 and FMA, which `fma` says it
        // does (`has_avx2_fma`); its body is the same safe code as `rows`.
        #[allow(unsafe_code)]
        unsafe {
            rows_avx2::<CO, T_AVX>(l, src, w, bias, relu, out)
        };
        return;
    }
    let _ = fma;
    rows::<CO, T, false>(l, src, w, bias, relu, out)
}

/// [`rows`] with AVX2 and fused multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn rows_avx2<const CO: usize, const T: usize>(
    l: &Layout,
    src: &Source<'_>,
    w: &[f32],
    bias: &[f32],
    relu: bool,
    out: &mut [f32],
) {
    rows::<CO, T, true>(l, src, w, bias, relu, out)
}

/// Every output row, `T` pixels at a time, then the row's remaining pixels two and one at a
/// time.
#[inline(always)]
fn rows<const CO: usize, const T: usize, const FMA: bool>(
    l: &Layout,
    src: &Source<'_>,
    w: &[f32],
    bias: &[f32],
    relu: bool,
    out: &mut [f32],
) {
    let bias: [f32; CO] = bias.try_into().expect("one bias per output channel");
    let steps = Steps::new(l, src.row);
    let [on, oh_stride, ow_stride, oc] = l.output_strides;
    let store = |out: &mut [f32], o: usize, mut acc: [f32; CO]| {
        if relu {
            for a in &mut acc {
                *a = a.max(0.0);
            }
        }
        if oc == 1 {
            out[o..o + CO].copy_from_slice(&acc);
        } else {
            for (c, a) in acc.into_iter().enumerate() {
                out[o + c * oc] = a;
            }
        }
    };
    for n in 0..l.batch {
        for oh in 0..l.output[0] {
            let row = n * src.image + oh * l.stride[0] * src.row;
            let o_row = n * on + oh * oh_stride;
            let mut ow = 0;
            while ow + T <= l.output[1] {
                let accs = tile::<CO, T, FMA>(&steps, src.x, w, &bias, row + ow * steps.pixel);
                for (t, acc) in accs.into_iter().enumerate() {
                    store(out, o_row + (ow + t) * ow_stride, acc);
                }
                ow += T;
            }
            while T > 2 && ow + 2 <= l.output[1] {
                let accs = tile::<CO, 2, FMA>(&steps, src.x, w, &bias, row + ow * steps.pixel);
                for (t, acc) in accs.into_iter().enumerate() {
                    store(out, o_row + (ow + t) * ow_stride, acc);
                }
                ow += 2;
            }
            while ow < l.output[1] {
                let [acc] = tile::<CO, 1, FMA>(&steps, src.x, w, &bias, row + ow * steps.pixel);
                store(out, o_row + ow * ow_stride, acc);
                ow += 1;
            }
        }
    }
}

/// Element distances in the channels-last source.
struct Steps {
    /// From one output pixel's window to the next one's in a row.
    pixel: usize,
    /// From one kernel row to the next.
    kernel_row: usize,
    /// Contiguous runs of input per kernel row (1 when the kernel columns are adjacent, so a
    /// whole kernel row of `kw × ci` values is one run; else one run of `ci` per column).
    runs: usize,
    /// Values per run.
    run_len: usize,
    /// From one run to the next within a kernel row.
    run_step: usize,
    kernel_rows: usize,
}

impl Steps {
    fn new(l: &Layout, row: usize) -> Steps {
        let ci = l.in_channels;
        let (runs, run_len) = if l.dilation[1] == 1 {
            (1, l.kernel[1] * ci)
        } else {
            (l.kernel[1], ci)
        };
        Steps {
            pixel: l.stride[1] * ci,
            kernel_row: l.dilation[0] * row,
            runs,
            run_len,
            run_step: l.dilation[1] * ci,
            kernel_rows: l.kernel[0],
        }
    }
}

/// The accumulators of `T` neighbouring output pixels, the first one's window starting at
/// `base`. The weights `w` are in run order (`[kh][kw][ci][co]`), so each run of input values
/// meets one contiguous block of weight rows.
#[inline(always)]
fn tile<const CO: usize, const T: usize, const FMA: bool>(
    s: &Steps,
    x: &[f32],
    w: &[f32],
    bias: &[f32; CO],
    base: usize,
) -> [[f32; CO]; T] {
    let mut acc = [*bias; T];
    let mut weights = w.chunks_exact(s.run_len * CO);
    for kh in 0..s.kernel_rows {
        for r in 0..s.runs {
            let start = base + kh * s.kernel_row + r * s.run_step;
            let inputs: [&[f32]; T] =
                std::array::from_fn(|t| &x[start + t * s.pixel..][..s.run_len]);
            let block = weights.next().expect("one weight block per run");
            for (j, wv) in block.chunks_exact(CO).enumerate() {
                let wv: &[f32; CO] = wv.try_into().expect("CO weights");
                for (a, input) in acc.iter_mut().zip(&inputs) {
                    let xv = input[j];
                    for o in 0..CO {
                        // With FMA a fused multiply-add (one rounding, not two:
                        // within float summation-order differences of tract's result).
                        a[o] = if FMA {
                            xv.mul_add(wv[o], a[o])
                        } else {
                            a[o] + xv * wv[o]
                        };
                    }
                }
            }
        }
    }
    acc
}
