"""The comparison engine: frames prepared at half size, scored against a stream's ring by SSIM, exactly."""
