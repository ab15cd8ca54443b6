"""Emergency plans (应急预案): the register, the incidents that cite them, the review reminder."""
