# Sourced by every shell the Makefile starts (BASH_ENV) and by .ci/run: what they write under var/
# — the Airflow metadata DB and task logs (job logs name persons), the demo's data, stamps, CI logs,
# benchmark results — is for the owner only: files 0600, folders 0700. The job runtime sets the same
# umask itself (jobs.common.paths.private_umask) for steps started any other way.
umask 077
