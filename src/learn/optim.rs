//! AdamW (decoupled weight decay, as PyTorch's) whose moments can be saved and restored, so
//! a resumed run continues exactly where the checkpoint left it.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

pub struct AdamW {
    /// Parameters by name, sorted, with their first and second moments.
    params: Vec<(String, Var, Var, Var)>,
    pub lr: f64,
    pub weight_decay: f64,
    pub step: usize,
}

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

impl AdamW {
    pub fn new(named: &HashMap<String, Var>, weight_decay: f64) -> Result<Self> {
        let mut names: Vec<&String> = named.keys().collect();
        names.sort();
        let params = names
            .into_iter()
            .map(|name| {
                let var = named[name].clone();
                let zeros = || Var::zeros(var.shape(), var.dtype(), var.device());
                Ok((name.clone(), var.clone(), zeros()?, zeros()?))
            })
            .collect::<Result<_>>()?;
        Ok(Self { params, lr: 0.0, weight_decay, step: 0 })
    }

    pub fn apply(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let t = self.step as i32;
        let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
        for (_, var, m, v) in &self.params {
            let Some(g) = grads.get(var) else { continue };
            let m_next = ((m.as_tensor() * BETA1)? + (g * (1.0 - BETA1))?)?;
            let v_next = ((v.as_tensor() * BETA2)? + (g.sqr()? * (1.0 - BETA2))?)?;
            let update = ((&m_next / c1)? / ((&v_next / c2)?.sqrt()? + EPS)?)?;
            let decayed = (var.as_tensor() * (1.0 - self.lr * self.weight_decay))?;
            var.set(&(decayed - (update * self.lr)?)?)?;
            m.set(&m_next)?;
            v.set(&v_next)?;
        }
        Ok(())
    }

    /// The moments, named `adam.m.<param>` and `adam.v.<param>`.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.params
            .iter()
            .flat_map(|(name, _, m, v)| {
                [(format!("adam.m.{name}"), m.as_tensor().clone()), (format!("adam.v.{name}"), v.as_tensor().clone())]
            })
            .collect()
    }

    pub fn restore(&mut self, tensors: &HashMap<String, Tensor>, step: usize) -> Result<()> {
        for (name, _, m, v) in &self.params {
            for (kind, var) in [("m", m), ("v", v)] {
                let key = format!("adam.{kind}.{name}");
                let value =
                    tensors.get(&key).ok_or_else(|| candle_core::Error::Msg(format!("checkpoint lacks {key}")))?;
                var.set(value)?;
            }
        }
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn first_steps_match_the_formula() {
        // f(x) = x^2 from x = 1 with lr 0.1, wd 0.01: Adam's first step moves by lr * sign(g)
        // (m^ = g, v^ = g^2), after the decay x * (1 - lr * wd).
        let x = Var::new(&[1f32], &Device::Cpu).unwrap();
        let named = HashMap::from([("x".to_string(), x.clone())]);
        let mut opt = AdamW::new(&named, 0.01).unwrap();
        opt.lr = 0.1;
        let grads = x.as_tensor().sqr().unwrap().sum_all().unwrap().backward().unwrap();
        opt.apply(&grads).unwrap();
        let expected = 1.0 * (1.0 - 0.1 * 0.01) - 0.1 * 2.0 / (2.0 + 1e-8);
        let got = x.as_tensor().to_vec1::<f32>().unwrap()[0];
        assert!((f64::from(got) - expected).abs() < 1e-6, "{got} vs {expected}");
    }
}
