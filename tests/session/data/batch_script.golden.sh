#!/bin/bash
# Written by slurm-search; submitted with sbatch --parsable.
#SBATCH --job-name=ssearch-lumpy_roomy_vague_army
#SBATCH --array=0-3%2
#SBATCH --output=/home/me/hyperparameters/search/lumpy_roomy_vague_army/logs/%A_%a.out
#SBATCH --error=/home/me/hyperparameters/search/lumpy_roomy_vague_army/logs/%A_%a.err
#SBATCH --partition=gpu
#SBATCH --time=1:00:00
#SBATCH --gres=gpu:1
#SBATCH --mem=4G
#SBATCH --cpus-per-task=2
#SBATCH --exclude=node[01-02]
#SBATCH --account=proj
#SBATCH --qos=normal
#SBATCH --constraint=v100
#SBATCH --signal=B:USR1@60
#SBATCH --requeue
#SBATCH --mail-type=END
export A='it'"'"'s'
export SLURM_SEARCH_HOME='/home/me/hyper parameters'
exec /opt/venv/bin/ssearch -v generational_work_on search:lumpy_roomy_vague_army --generation 2
